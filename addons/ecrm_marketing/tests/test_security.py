from odoo.tests import tagged

from .common import EcrmMarketingCase


@tagged("post_install", "-at_install", "ecrm")
class TestMarketingSecurity(EcrmMarketingCase):
    def test_group_ladder(self):
        """Manager implies user, user implies the eCRM user (who sees the eCRM app)."""
        self.assertTrue(self.marketing_manager.has_group("ecrm_marketing.ecrm_marketing_group_user"))
        self.assertTrue(self.marketing_user.has_group("ecrm_segments.ecrm_group_user"))
        self.assertFalse(self.marketing_user.has_group("ecrm_marketing.ecrm_marketing_group_manager"))
        self.assertFalse(self.ecrm_user.has_group("ecrm_marketing.ecrm_marketing_group_user"))

    def test_menus_follow_groups(self):
        menus = ["ecrm_marketing.menu_ecrm_marketing_root", "ecrm_marketing.menu_ecrm_marketing_mailings"]
        self.assertEqual(self.visible_menu_xmlids(self.marketing_manager, menus), set(menus))
        self.assertEqual(self.visible_menu_xmlids(self.ecrm_user, menus), set())
