from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import EcrmMarketingCase


@tagged("post_install", "-at_install", "ecrm")
class TestCampaignConfiguration(EcrmMarketingCase):
    def test_step_without_template_refused_at_activation(self):
        campaign = self.create_campaign(steps=[{"name": "Empty step"}])
        with self.assertRaisesRegex(UserError, "Empty step has no email template"):
            campaign.action_activate()
        self.assertEqual(campaign.state, "draft")
        self.assertFalse(campaign.step_ids.mailing_id)

    def test_sms_and_webhook_steps_need_their_content(self):
        campaign = self.create_campaign(steps=[{"name": "Text", "channel": "sms"}])
        with self.assertRaisesRegex(UserError, "Text has no SMS template"):
            campaign.action_activate()
        campaign = self.create_campaign(steps=[{"name": "Hook", "channel": "webhook"}])
        with self.assertRaisesRegex(UserError, "Hook has no webhook URL"):
            campaign.action_activate()
        with self.assertRaisesRegex(ValidationError, "http"):
            campaign.step_ids.webhook_url = "ftp://example.com"

    def test_campaign_without_steps_refused(self):
        campaign = self.create_campaign(steps=[])
        with self.assertRaisesRegex(UserError, "has no step"):
            campaign.action_activate()

    def test_invalid_domain_refused(self):
        with self.assertRaisesRegex(ValidationError, "not a valid domain"):
            self.create_campaign(domain="[('no_such_field', '=', 1)]")
        with self.assertRaisesRegex(ValidationError, "not a valid domain"):
            self.create_campaign(domain="[('name', '=',")
        campaign = self.create_campaign(domain="[('email', 'ilike', 'customer1@')]")
        campaign.action_activate()
        campaign.action_enrol(self.customers.ids)
        self.assertEqual(campaign.participant_ids.partner_id, self.customers[1])

    def test_variant_splits_must_add_up(self):
        campaign = self.create_campaign(
            steps=[
                {
                    "name": "AB",
                    "variant_ids": [
                        (0, 0, {"name": "A", "split_percent": 50, "mail_template_id": self.template.id}),
                        (0, 0, {"name": "B", "split_percent": 30, "mail_template_id": self.template_b.id}),
                    ],
                }
            ]
        )
        with self.assertRaisesRegex(UserError, "add up to 100"):
            campaign.action_activate()

    def test_segment_trigger_needs_segment_and_template_model_checked(self):
        with self.assertRaisesRegex(ValidationError, "segment that triggers"):
            self.create_campaign(trigger="segment_entered")
        order_template = self.env["mail.template"].create(
            {"name": "Order", "model_id": self.env["ir.model"]._get_id("sale.order"), "subject": "x"}
        )
        with self.assertRaisesRegex(ValidationError, "for contacts"):
            self.create_campaign(steps=[{"name": "Wrong", "mail_template_id": order_template.id}])

    def test_enrol_requires_running_campaign_and_trigger_locked(self):
        campaign = self.create_campaign()
        with self.assertRaisesRegex(UserError, "not running"):
            campaign.action_enrol(self.customers.ids)
        campaign.action_activate()
        with self.assertRaisesRegex(UserError, "Stop the campaign"):
            campaign.trigger = "new_customer"
        campaign.action_stop()
        self.assertEqual(campaign.state, "stopped")
        campaign.trigger = "new_customer"

    def test_stopped_campaign_sends_nothing(self):
        campaign = self.create_campaign()
        campaign.action_activate()
        campaign.action_enrol(self.customers.ids)
        campaign.action_stop()
        self.assertEqual(self.run_engine(), 0)
        self.assertFalse(self.sends(campaign))

    def test_manager_builds_campaign_user_reads_only(self):
        campaign = (
            self.env["ecrm.campaign"]
            .with_user(self.marketing_manager)
            .create({"name": "By manager", "step_ids": [(0, 0, {"name": "S", "mail_template_id": self.template.id})]})
        )
        campaign.action_activate()
        self.assertEqual(campaign.state, "running")
        self.assertEqual(campaign.with_user(self.marketing_user).name, "By manager")
        with self.assertRaises(AccessError):
            self.env["ecrm.campaign"].with_user(self.marketing_user).create({"name": "Nope"})

    def test_multi_company_rule(self):
        other = self.env["res.company"].create({"name": "Other shop"})
        campaign = self.create_campaign(company_id=other.id)
        visible = self.env["ecrm.campaign"].with_user(self.marketing_manager).search([("id", "=", campaign.id)])
        self.assertFalse(visible)
