from odoo.tests import tagged

from .common import EcrmCase


@tagged("post_install", "-at_install", "ecrm")
class TestEcrmSecurity(EcrmCase):
    def test_group_ladder(self):
        """A manager is also a user; a user can sell (the eCRM screens read sales orders)."""
        self.assertTrue(self.ecrm_manager.has_group("ecrm_segments.ecrm_group_user"))
        self.assertTrue(self.ecrm_user.has_group("sales_team.group_sale_salesman"))
        self.assertFalse(self.ecrm_user.has_group("ecrm_segments.ecrm_group_manager"))

    def test_menus_follow_groups(self):
        menus = [
            "ecrm_segments.menu_ecrm_root",
            "ecrm_segments.menu_ecrm_customers",
            "ecrm_segments.menu_ecrm_config",
        ]
        self.assertEqual(
            self.visible_menu_xmlids(self.ecrm_user, menus),
            {"ecrm_segments.menu_ecrm_root", "ecrm_segments.menu_ecrm_customers"},
        )
        self.assertEqual(self.visible_menu_xmlids(self.plain_user, menus), set())

    def test_customers_action_lists_customers(self):
        """The eCRM customers action shows customers (customer_rank > 0) to an eCRM user."""
        customer = self.env["res.partner"].create({"name": "Li Na", "customer_rank": 1})
        self.env["res.partner"].create({"name": "Supplier Only", "supplier_rank": 1})
        action = (
            self.env["ir.actions.act_window"]
            .with_user(self.ecrm_user)
            ._for_xml_id("ecrm_segments.res_partner_action_ecrm_customer")
        )
        self.assertEqual(action["res_model"], "res.partner")
        partners = self.env["res.partner"].with_user(self.ecrm_user).search([("customer_rank", ">", 0)])
        self.assertIn(customer, partners)
        self.assertNotIn("Supplier Only", partners.mapped("name"))
