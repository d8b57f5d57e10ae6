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
