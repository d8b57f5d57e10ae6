from odoo.tests import tagged

from .common import EcrmMarketingCase


@tagged("post_install", "-at_install")
class TestConsentGate(EcrmMarketingCase):
    """Campaigns send only with the customer's consent for the step's channel."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.new_customers = cls.env["res.partner"].create(
            [
                {"name": f"Gate {i}", "email": f"gate{i}@example.com", "phone": f"+1 202-555-01{i:02d}", "tz": "UTC"}
                for i in range(4)
            ]
        )

    def run_campaign(self, partners, channel="email", **values):
        step = {"name": "Step", "channel": channel}
        if channel == "email":
            step["mail_template_id"] = self.template.id
        elif channel == "sms":
            step["sms_template_id"] = self.sms_template.id
        else:
            step["webhook_url"] = "https://hooks.example.com/wechat"
        campaign = self.create_campaign(steps=[step], exit_on_unsubscribe=False, **values)
        campaign.action_activate()
        campaign.action_enrol(partners.ids)
        self.run_engine(campaign)
        return campaign, {send.partner_id: (send.state, send.reason) for send in self.sends(campaign)}

    def test_explicit_consent_is_required_by_default(self):
        unknown, granted, pending, withdrawn = self.new_customers
        self.assertTrue(self.env.company.ecrm_consent_required)
        granted.ecrm_set_consent("email", True, proof="Checkout checkbox")
        pending.ecrm_request_consent("email")
        withdrawn.ecrm_set_consent("email", False)
        campaign, result = self.run_campaign(self.new_customers)
        self.assertEqual(
            result,
            {
                unknown: ("skipped", "no_consent"),
                granted: ("sent", False),
                pending: ("skipped", "no_consent"),
                withdrawn: ("skipped", "blacklisted"),  # a withdrawal blacklists the address
            },
        )
        self.assertEqual(self.mails(campaign).mapped("res_id"), granted.ids)

    def test_consent_is_per_channel(self):
        email_only, sms_only, wechat_only, everything = self.new_customers
        email_only.ecrm_set_consent("email", True)
        sms_only.ecrm_set_consent("sms", True)
        wechat_only.ecrm_set_consent("webhook", True)
        for channel in ("email", "sms", "webhook"):
            everything.ecrm_set_consent(channel, True)
        expected = {"email": email_only | everything, "sms": sms_only | everything, "webhook": wechat_only | everything}
        for channel, reached in expected.items():
            with self.subTest(channel=channel):
                _campaign, result = self.run_campaign(self.new_customers, channel=channel, name=f"Gate {channel}")
                sent = {partner for partner, (state, _reason) in result.items() if state == "sent"}
                self.assertEqual(sent, set(reached))
                self.assertEqual(
                    {reason for partner, (_state, reason) in result.items() if partner not in reached}, {"no_consent"}
                )
        sms = self.env["sms.sms"].sudo().search([("partner_id", "in", self.new_customers.ids)])
        self.assertEqual(sms.partner_id, sms_only | everything)

    def test_shop_without_explicit_consent_sends_until_withdrawn(self):
        unknown, granted, withdrawn, wechat_withdrawn = self.new_customers
        self.env["ecrm.config"]._get_for_company().consent_required = False
        granted.ecrm_set_consent("email", True)
        withdrawn.ecrm_set_consent("email", False)
        wechat_withdrawn.ecrm_set_consent("webhook", False)
        _campaign, result = self.run_campaign(self.new_customers)
        self.assertEqual(
            result,
            {
                unknown: ("sent", False),
                granted: ("sent", False),
                withdrawn: ("skipped", "blacklisted"),
                wechat_withdrawn: ("sent", False),
            },
        )
        _campaign, result = self.run_campaign(self.new_customers, channel="webhook", name="Hook")
        self.assertEqual(result[wechat_withdrawn], ("skipped", "no_consent"))
        self.assertEqual(result[unknown], ("sent", False))
        # a campaign may still ask for explicit consent where the shop does not
        _campaign, result = self.run_campaign(self.new_customers, name="Strict", require_consent=True)
        self.assertEqual(result[unknown], ("skipped", "no_consent"))
        self.assertEqual(result[granted], ("sent", False))

    def test_double_opt_in_then_the_next_step_is_sent(self):
        customer = self.new_customers[0]
        campaign = self.create_campaign(
            steps=[
                {"name": "First", "mail_template_id": self.template.id},
                {"name": "Second", "mail_template_id": self.template_b.id, "delay": 1, "delay_unit": "days"},
            ]
        )
        with self.at("2026-05-04 10:00:00"):
            campaign.action_activate()
            campaign.action_enrol(customer.ids)
            [request_id] = customer.ecrm_request_consent("email")
            self.run_engine(campaign)
        self.assertEqual(self.sends(campaign).reason, "no_consent")
        with self.at("2026-05-04 12:00:00"):
            Partner = self.env["res.partner"]
            request = self.env["ecrm.consent.log"].browse(request_id)
            self.assertEqual(
                Partner._ecrm_consent_confirm(request.id, Partner._ecrm_consent_token(request)), "confirmed"
            )
        with self.at("2026-05-05 10:00:00"):
            self.run_engine(campaign)
        self.assertEqual(
            [(send.step_id.name, send.state) for send in self.sends(campaign).sorted("id")],
            [("First", "skipped"), ("Second", "sent")],
        )

    def test_former_consent_checkbox_follows_the_channels(self):
        customer = self.new_customers[0]
        self.assertFalse(customer.ecrm_marketing_consent)
        customer.ecrm_set_consent("sms", True)
        self.assertTrue(customer.ecrm_marketing_consent)
        customer.ecrm_set_consent("sms", False)
        self.assertFalse(customer.ecrm_marketing_consent)
        # writing the old field grants the channels never recorded, not the withdrawn one
        customer.ecrm_marketing_consent = True
        self.assertEqual(
            (customer.ecrm_consent_email, customer.ecrm_consent_sms, customer.ecrm_consent_webhook),
            ("granted", "withdrawn", "granted"),
        )
        customer.ecrm_marketing_consent = False
        self.assertEqual(
            (customer.ecrm_consent_email, customer.ecrm_consent_sms, customer.ecrm_consent_webhook),
            ("withdrawn", "withdrawn", "withdrawn"),
        )
