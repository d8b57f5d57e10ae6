from datetime import timedelta

from odoo import fields
from odoo.tests import TransactionCase, new_test_user


class EcrmCase(TransactionCase):
    """Base class of the eCRM tests: quiet mail, an eCRM user, an eCRM manager, a salesman."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(
            context=dict(cls.env.context, tracking_disable=True, mail_notrack=True, no_reset_password=True)
        )
        cls.company = cls.env.company
        cls.ecrm_user = new_test_user(cls.env, login="ecrm_user", groups="ecrm_segments.ecrm_group_user")
        cls.ecrm_manager = new_test_user(cls.env, login="ecrm_manager", groups="ecrm_segments.ecrm_group_manager")
        cls.plain_user = new_test_user(cls.env, login="ecrm_plain", groups="base.group_user")

    @classmethod
    def visible_menu_xmlids(cls, user, xmlids):
        """The subset of ``xmlids`` whose menus ``user`` sees: the menu and all its parents visible."""
        menus = {xmlid: cls.env.ref(xmlid) for xmlid in xmlids}
        visible = cls.env["ir.ui.menu"].with_user(user)._visible_menu_ids()
        return {
            xmlid
            for xmlid, menu in menus.items()
            if all(int(menu_id) in visible for menu_id in menu.parent_path.strip("/").split("/"))
        }


class EcrmOrdersMixin:
    """Helpers to build customers and dated, confirmed sales orders."""

    @classmethod
    def _setup_ecrm_products(cls):
        cls.ecrm_product = cls.env["product.product"].create(
            {"name": "eCRM Widget", "list_price": 100.0, "taxes_id": False}
        )

    @classmethod
    def make_order(
        cls,
        partner,
        amount,
        days_ago=0,
        confirm=True,
        company=None,
        pricelist=None,
        discount=0.0,
        **values,
    ):
        """A sales order of ``partner`` for ``amount`` (untaxed), dated ``days_ago`` days ago."""
        env = cls.env(context=dict(cls.env.context, allowed_company_ids=[(company or cls.env.company).id]))
        vals = {
            "partner_id": partner.id,
            "company_id": (company or cls.env.company).id,
            "order_line": [
                (
                    0,
                    0,
                    {
                        "product_id": cls.ecrm_product.id,
                        "product_uom_qty": 1,
                        "price_unit": amount,
                        "discount": discount,
                        "tax_ids": False,
                    },
                )
            ],
        }
        if pricelist:
            vals["pricelist_id"] = pricelist.id
        vals.update(values)
        order = env["sale.order"].with_company(company or cls.env.company).create(vals)
        if confirm:
            order.action_confirm()
        order.date_order = fields.Datetime.now() - timedelta(days=days_ago)
        return order

    @classmethod
    def recompute(cls, company=None):
        return cls.env["ecrm.partner.score"].recompute(company_ids=(company or cls.env.company).ids)[0]

    def score_of(self, partner, company=None):
        return self.env["ecrm.partner.score"].search(
            [
                ("partner_id", "=", partner.id),
                ("company_id", "=", (company or self.env.company).id),
            ]
        )
