from odoo.tests import tagged

from odoo.addons.ecrm_segments.tests.privacy_common import find_in_database, read_archive

from .common import CONSENT, EcrmMarketingCase

NAME = "Octavian Brightwater"
EMAIL = "octavian.bright@privacy-test.example"
PHONE = "+1 202-555-0199"


@tagged("post_install", "-at_install")
class TestMarketingPrivacy(EcrmMarketingCase):
    """What the campaigns hold about a customer is exported, then de-identified by an erasure."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.env["res.partner"].create(
            {"name": NAME, "email": EMAIL, "phone": PHONE, "tz": "UTC", **CONSENT}
        )
        cls.campaign = cls.create_campaign(
            steps=[
                {"name": "Mail", "mail_template_id": cls.template.id},
                {"name": "Text", "channel": "sms", "sms_template_id": cls.sms_template.id},
                {"name": "WeChat", "channel": "webhook", "webhook_url": "https://hooks.example.com/wechat"},
            ]
        )
        cls.campaign.action_activate()
        cls.campaign.action_enrol(cls.customer.ids)
        for _step in range(3):
            cls.env["ecrm.campaign.participant"]._advance_due(campaigns=cls.campaign)

    def test_export_has_the_campaign_data(self):
        sends = self.sends(self.campaign)
        self.assertEqual(len(sends.filtered(lambda send: send.state == "sent")), 3)
        result = self.customer.with_user(self.ecrm_manager).ecrm_privacy_export()
        sections = read_archive(result["content"])[0]["sections"]
        self.assertEqual(len(sections["campaign_participations"]["rows"]), 1)
        self.assertEqual(
            sorted(row["channel"] for row in sections["campaign_messages"]["rows"]), ["Email", "SMS", "Webhook"]
        )
        [trace] = sections["email_traces"]["rows"]
        self.assertEqual(trace["email"], EMAIL)
        [sms_trace] = sections["sms_traces"]["rows"]
        self.assertEqual(sms_trace["sms_number"], self.customer.phone_sanitized)
        [sms] = sections["sms"]["rows"]
        self.assertTrue(sms["body"].startswith(f"Hi {NAME}\n"), "the text as sent, with its STOP link")
        [call] = sections["webhook_calls"]["rows"]
        self.assertEqual(call["payload"]["customer"]["email"], EMAIL)

    def test_erasure_de_identifies_the_campaign_logs(self):
        sanitized = self.customer.phone_sanitized
        participant = self.campaign.participant_ids
        self.customer.with_user(self.ecrm_manager).ecrm_privacy_erase(NAME)
        self.env.flush_all()
        self.assertEqual(find_in_database(self.env.cr, [NAME, EMAIL, PHONE, sanitized]), [])
        sends = self.sends(self.campaign)
        self.assertEqual(len(sends), 3, "the campaign statistics stay")
        traces = sends.mailing_trace_id
        self.assertEqual(sorted(traces.mapped("trace_type")), ["mail", "sms"])
        self.assertEqual(traces.mapped("email") + traces.mapped("sms_number"), [False] * 4)
        webhook = self.env["ecrm.campaign.webhook"].search([("send_id", "in", sends.ids)])
        self.assertEqual((webhook.payload, webhook.state), ({}, "failed"), "a call not sent yet is not sent any more")
        self.assertEqual(participant.partner_id, self.customer)
        self.assertEqual(self.mails(self.campaign).mapped("state"), ["cancel"])
