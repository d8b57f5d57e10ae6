from odoo.tests import tagged

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltySecurity(EcrmLoyaltyCase):
    def test_group_ladder(self):
        """Manager implies user, user implies the eCRM user (who sees the eCRM app)."""
        self.assertTrue(self.loyalty_manager.has_group("ecrm_loyalty.ecrm_loyalty_group_user"))
        self.assertTrue(self.loyalty_user.has_group("ecrm_segments.ecrm_group_user"))
        self.assertFalse(self.loyalty_user.has_group("ecrm_loyalty.ecrm_loyalty_group_manager"))
        self.assertFalse(self.ecrm_user.has_group("ecrm_loyalty.ecrm_loyalty_group_user"))

    def test_menus_follow_groups(self):
        menus = [
            "ecrm_loyalty.menu_ecrm_loyalty_root",
            "ecrm_loyalty.menu_ecrm_loyalty_programs",
            "ecrm_loyalty.menu_ecrm_loyalty_cards",
        ]
        self.assertEqual(self.visible_menu_xmlids(self.loyalty_manager, menus), set(menus))
        self.assertEqual(self.visible_menu_xmlids(self.ecrm_user, menus), set())
