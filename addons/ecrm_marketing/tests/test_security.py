from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CONSENT, EcrmMarketingCase


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

    def test_marketing_screens_reachable_from_the_menu(self):
        screens = [
            "ecrm_marketing.menu_ecrm_marketing_campaigns",
            "ecrm_marketing.menu_ecrm_marketing_participants",
            "ecrm_marketing.menu_ecrm_marketing_sends",
            "ecrm_marketing.menu_ecrm_marketing_webhooks",
            "ecrm_marketing.menu_ecrm_marketing_funnel",
        ]
        templates = "ecrm_marketing.menu_ecrm_marketing_templates"
        self.assertEqual(self.visible_menu_xmlids(self.marketing_user, [*screens, templates]), set(screens))
        self.assertEqual(self.visible_menu_xmlids(self.marketing_manager, [*screens, templates]), {*screens, templates})
        self.assertEqual(self.visible_menu_xmlids(self.plain_user, screens), set())

    def test_user_reads_results_but_cannot_change_the_log(self):
        campaign = self.env["ecrm.campaign"].create(
            {
                "name": "Secured",
                "step_ids": [(0, 0, {"name": "S", "channel": "webhook", "webhook_url": "https://x.test"})],
            }
        )
        campaign.action_activate()
        campaign.action_enrol(
            self.env["res.partner"].create({"name": "Reader test", "email": "r@example.com", **CONSENT}).ids
        )
        self.env["ecrm.campaign.participant"]._advance_due(campaigns=campaign)
        send = self.env["ecrm.campaign.send"].search([("campaign_id", "=", campaign.id)])
        self.assertEqual(send.with_user(self.marketing_user).state, "sent")
        self.assertTrue(campaign.with_user(self.marketing_user).get_stats())
        with self.assertRaises(AccessError):
            send.with_user(self.marketing_manager).unlink()
        with self.assertRaises(UserError):
            send.with_user(self.marketing_manager).write({"state": "skipped"})
        with self.assertRaises(AccessError):
            campaign.with_user(self.marketing_user).action_stop()

    def test_manager_runs_every_channel_now(self):
        """A marketing manager's "Run now" sends email, SMS and webhook steps without an access error."""
        campaign = self.create_campaign(
            steps=[
                {"name": "Mail", "mail_template_id": self.template.id},
                {"name": "Text", "channel": "sms", "sms_template_id": self.sms_template.id},
                {"name": "Push", "channel": "webhook", "webhook_url": "https://push.example.com/hook"},
            ]
        ).with_user(self.marketing_manager)
        campaign.action_activate()
        customers = self.customers[:2]
        customers[0].phone = "+32 470 11 22 33"
        customers[1].phone = "+32 470 44 55 66"
        campaign.action_enrol(customers.ids)
        for _step in range(3):
            campaign.action_run()
        sends = self.sends(campaign)
        self.assertEqual(len(sends), 6)
        self.assertEqual(set(sends.mapped("state")), {"sent"})
        self.assertEqual(set(sends.mapped("channel")), {"email", "sms", "webhook"})
        self.assertEqual(len(self.env["ecrm.campaign.webhook"].search([("send_id", "in", sends.ids)])), 2)
