from odoo.tests import tagged

from .common import EcrmHelpdeskCase


@tagged("post_install", "-at_install", "ecrm")
class TestHelpdeskSecurity(EcrmHelpdeskCase):
    def test_group_ladder(self):
        """Manager implies user, user implies the eCRM user (who sees the eCRM app)."""
        self.assertTrue(self.helpdesk_manager.has_group("ecrm_helpdesk.ecrm_helpdesk_group_user"))
        self.assertTrue(self.helpdesk_user.has_group("ecrm_segments.ecrm_group_user"))
        self.assertFalse(self.helpdesk_user.has_group("ecrm_helpdesk.ecrm_helpdesk_group_manager"))
        self.assertFalse(self.ecrm_user.has_group("ecrm_helpdesk.ecrm_helpdesk_group_user"))
