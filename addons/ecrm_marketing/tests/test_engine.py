from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.ecrm_marketing.models.render_helper import EcrmRenderHelper

from .common import CONSENT, EcrmMarketingCase


@tagged("post_install", "-at_install", "ecrm")
class TestCampaignEngine(EcrmMarketingCase):
    def test_email_step_queued_with_mailing_trace_and_unsubscribe(self):
        campaign = self.create_campaign()
        campaign.action_activate()
        campaign.action_enrol(self.customers[:3].ids)
        self.assertEqual(self.run_engine(campaign), 3)
        mails = self.mails(campaign)
        self.assertEqual(len(mails), 3)
        self.assertEqual(set(mails.mapped("res_id")), set(self.customers[:3].ids))
        mail = mails.filtered(lambda m: m.res_id == self.customers[0].id)
        self.assertEqual(mail.subject, "Hello Customer 0")
        self.assertEqual(mail.state, "outgoing")
        # mass mailing's mechanism: the mailing on the mail, its trace, a link to unsubscribe, tracked links
        self.assertEqual(mail.mailing_id, campaign.step_ids.mailing_id)
        self.assertEqual(len(mail.mailing_trace_ids), 1)
        self.assertEqual(mail.mailing_trace_ids.email, "customer0@example.com")
        self.assertIn("/unsubscribe_from_list", mail.body_html)
        self.assertNotIn("https://shop.example.com/new", mail.body_html, "links go through the link tracker")
        self.assertIn("/r/", mail.body_html)
        sends = self.sends(campaign)
        self.assertEqual(sends.mapped("state"), ["sent"] * 3)
        self.assertEqual(set(sends.mapped("mailing_trace_id")), set(mails.mailing_trace_ids))
        participants = campaign.participant_ids
        self.assertEqual(set(participants.mapped("state")), {"done"})

    def test_rerun_never_sends_twice(self):
        campaign = self.create_campaign()
        campaign.action_activate()
        campaign.action_enrol(self.customers.ids)
        self.run_engine(campaign)
        self.assertEqual(len(self.mails(campaign)), 6)
        # a second enrolment of the same customers and a second run change nothing
        self.assertEqual(campaign.action_enrol(self.customers.ids), [])
        self.assertEqual(self.run_engine(campaign), 0)
        # even if a participant is put back on the step (e.g. a crash after the send, before moving on)
        campaign.participant_ids.write(
            {"state": "running", "current_step_id": campaign.step_ids.id, "next_action_date": "2000-01-01 00:00:00"}
        )
        self.assertEqual(self.run_engine(campaign), 6)
        self.assertEqual(len(self.mails(campaign)), 6)
        self.assertEqual(len(self.sends(campaign)), 6)

    def test_failure_mid_batch_neither_double_sends_nor_skips(self):
        campaign = self.create_campaign()
        campaign.action_activate()
        campaign.action_enrol(self.customers.ids)
        Step = type(self.env["ecrm.campaign.step"])
        original = Step._queue_emails
        calls = []

        class Crash(BaseException):
            """The worker dies (killed, out of memory): nothing after this point runs."""

        def crashing_queue(step, sends, variant, helper):
            calls.append(len(sends))
            mails = original(step, sends, variant, helper)
            if len(calls) == 2:
                raise Crash  # the mails of this batch were created, then the process dies before the commit
            return mails

        # (not assertRaises: it would roll back to its own savepoint, hiding the committed first batch)
        with patch.object(Step, "_queue_emails", crashing_queue):
            try:
                self.run_engine(campaign, batch_size=2)
                crashed = False
            except Crash:
                crashed = True
        self.assertTrue(crashed)
        # the first batch is kept, the failed one left nothing behind
        self.assertEqual(len(self.sends(campaign)), 2)
        self.assertEqual(len(self.mails(campaign)), 2)
        self.assertEqual(len(campaign.participant_ids.filtered(lambda p: p.state == "running")), 4)
        # the re-run does exactly what is missing
        self.assertEqual(self.run_engine(campaign, batch_size=2), 4)
        self.assertEqual(len(self.sends(campaign)), 6)
        mails = self.mails(campaign)
        self.assertEqual(len(mails), 6)
        self.assertEqual(sorted(mails.mapped("res_id")), sorted(self.customers.ids))

    @mute_logger(
        "odoo.addons.ecrm_marketing.models.ecrm_campaign_participant", "odoo.addons.mail.models.mail_render_mixin"
    )
    def test_customer_failing_to_render_does_not_block_the_batch(self):
        campaign = self.create_campaign()  # the template prints ecrm.segment(object)
        campaign.action_activate()
        campaign.action_enrol(self.customers.ids)
        fragile = self.customers[0]
        original = EcrmRenderHelper.segment

        def segment(helper, partner):
            if partner == fragile:
                raise ValueError("corrupted customer data")
            return original(helper, partner)

        with patch.object(EcrmRenderHelper, "segment", segment):
            self.assertEqual(self.run_engine(campaign), 6)
        failed = campaign.participant_ids.filtered(lambda p: p.partner_id == fragile)
        self.assertEqual((failed.state, failed.exit_reason), ("exited", "error"))
        self.assertIn("corrupted customer data", failed.error_message)
        self.assertEqual(sorted(self.mails(campaign).mapped("res_id")), sorted(self.customers[1:].ids))
        self.assertEqual(len(self.sends(campaign)), 5)
        self.assertEqual(self.run_engine(campaign), 0)

    def test_delays_with_frozen_time(self):
        campaign = self.create_campaign(
            steps=[
                {"name": "Now", "mail_template_id": self.template.id},
                {"name": "Two days later", "mail_template_id": self.template_b.id, "delay": 2, "delay_unit": "days"},
                {
                    "name": "Five hours later",
                    "channel": "sms",
                    "sms_template_id": self.sms_template.id,
                    "delay": 5,
                    "delay_unit": "hours",
                },
            ]
        )
        step1, step2, _step3 = campaign.step_ids.sorted("sequence")
        customer = self.customers[0]
        customer.phone = "+32 470 12 34 56"
        with self.at("2026-03-02 10:00:00"):
            campaign.action_activate()
            campaign.action_enrol(customer.ids)
            self.run_engine(campaign)
        participant = campaign.participant_ids
        self.assertEqual(self.sends(campaign).step_id, step1)
        self.assertEqual(participant.current_step_id, step2)
        self.assertEqual(str(participant.next_action_date), "2026-03-04 10:00:00")
        with self.at("2026-03-04 09:59:00"):
            self.assertEqual(self.run_engine(campaign), 0)
        with self.at("2026-03-04 10:00:00"):
            self.assertEqual(self.run_engine(campaign), 1)
        self.assertEqual(self.sends(campaign).step_id, step1 | step2)
        self.assertEqual(str(participant.next_action_date), "2026-03-04 15:00:00")
        with self.at("2026-03-04 15:00:00"):
            self.run_engine(campaign)
        sms = self.env["sms.sms"].sudo().search([("partner_id", "=", customer.id)])
        self.assertTrue(sms.body.startswith("Hi Customer 0\nSTOP SMS: "))
        self.assertEqual(sms.number, customer.phone_sanitized)
        self.assertEqual(participant.state, "done")
        self.assertEqual(len(self.sends(campaign, state="sent")), 3)

    def test_blacklist_optout_consent_and_missing_email(self):
        blacklisted, opted_out, _other, no_email, ok = self.customers[:5]
        # a customer asked for consent who has not confirmed it yet
        no_consent = self.env["res.partner"].create({"name": "Not yet", "email": "not.yet@example.com", "tz": "UTC"})
        no_email.email = False
        self.env["mail.blacklist"]._add(blacklisted.email)
        mailing_list = self.env["mailing.list"].create({"name": "Newsletter"})
        contact = self.env["mailing.contact"].create({"name": "x", "email": opted_out.email})
        self.env["mailing.subscription"].create({"contact_id": contact.id, "list_id": mailing_list.id, "opt_out": True})
        (opted_out | ok | blacklisted | no_email).ecrm_marketing_consent = True
        no_consent.ecrm_request_consent("email")  # asked by email, not confirmed yet
        campaign = self.create_campaign(
            require_consent=True, exit_on_unsubscribe=False, optout_list_ids=[(4, mailing_list.id)]
        )
        campaign.action_activate()
        campaign.action_enrol((blacklisted | opted_out | no_consent | no_email | ok).ids)
        self.run_engine(campaign)
        reasons = {s.partner_id: (s.state, s.reason) for s in self.sends(campaign)}
        self.assertEqual(reasons[blacklisted], ("skipped", "blacklisted"))
        self.assertEqual(reasons[opted_out], ("skipped", "opted_out"))
        self.assertEqual(reasons[no_consent], ("skipped", "no_consent"))
        self.assertEqual(reasons[no_email], ("skipped", "no_email"))
        self.assertEqual(reasons[ok], ("sent", False))
        self.assertEqual(self.mails(campaign).mapped("res_id"), ok.ids)

    def test_exit_on_unsubscribe_and_on_order(self):
        campaign = self.create_campaign(
            exit_on_order=True,
            steps=[
                {"name": "First", "mail_template_id": self.template.id},
                {"name": "Second", "mail_template_id": self.template_b.id, "delay": 1},
            ],
        )
        unsubscribed, buyer, other = self.customers[:3]
        with self.at("2026-03-02 10:00:00"):
            campaign.action_activate()
            campaign.action_enrol((unsubscribed | buyer | other).ids)
            self.run_engine(campaign)
        with self.at("2026-03-02 12:00:00"):
            self.env["mail.blacklist"]._add(unsubscribed.email)
            product = self.env["product.product"].create({"name": "Mug", "list_price": 10})
            order = self.env["sale.order"].create(
                {"partner_id": buyer.id, "order_line": [(0, 0, {"product_id": product.id})]}
            )
            order.action_confirm()
        with self.at("2026-03-03 10:00:00"):
            self.run_engine(campaign)
        by_partner = {p.partner_id: p for p in campaign.participant_ids}
        self.assertEqual(
            (by_partner[unsubscribed].state, by_partner[unsubscribed].exit_reason), ("exited", "unsubscribed")
        )
        self.assertEqual((by_partner[buyer].state, by_partner[buyer].exit_reason), ("exited", "ordered"))
        self.assertEqual(by_partner[other].state, "done")
        self.assertEqual(len(self.sends(campaign, partner_id=other.id)), 2)
        self.assertEqual(len(self.sends(campaign, partner_id=buyer.id)), 1)

    def test_condition_opened_and_not_opened(self):
        campaign = self.create_campaign(
            steps=[
                {"name": "First", "mail_template_id": self.template.id},
                {
                    "name": "Opened",
                    "mail_template_id": self.template_b.id,
                    "condition": "opened",
                    "delay": 1,
                    "delay_unit": "hours",
                },
                {
                    "name": "Not clicked",
                    "mail_template_id": self.template_b.id,
                    "condition": "not_clicked",
                    "delay": 1,
                    "delay_unit": "hours",
                },
            ]
        )
        reader, other = self.customers[:2]
        with self.at("2026-03-02 10:00:00"):
            campaign.action_activate()
            campaign.action_enrol((reader | other).ids)
            self.run_engine(campaign)
        first = campaign.step_ids.sorted("sequence")[0]
        self.sends(campaign, step_id=first.id, partner_id=reader.id).mailing_trace_id.set_opened()
        with self.at("2026-03-02 11:00:00"):
            self.run_engine(campaign)  # step "Opened"
        second = campaign.step_ids.sorted("sequence")[1]
        self.assertEqual(self.sends(campaign, step_id=second.id, partner_id=reader.id).state, "sent")
        self.assertEqual(self.sends(campaign, step_id=second.id, partner_id=other.id).reason, "condition")
        self.sends(campaign, step_id=second.id, partner_id=reader.id).mailing_trace_id.set_clicked()
        with self.at("2026-03-02 12:00:00"):
            self.run_engine(campaign)  # step "Not clicked": compared with the previous step
        third = campaign.step_ids.sorted("sequence")[2]
        self.assertEqual(self.sends(campaign, step_id=third.id, partner_id=reader.id).reason, "condition")
        # the other customer got no second email, hence no click in it
        self.assertEqual(self.sends(campaign, step_id=third.id, partner_id=other.id).state, "sent")

    def test_condition_ordered_and_not_ordered(self):
        product = self.env["product.product"].create({"name": "Mug", "list_price": 10})
        campaign = self.create_campaign(
            steps=[
                {"name": "First", "mail_template_id": self.template.id},
                {"name": "Thanks", "mail_template_id": self.template_b.id, "condition": "ordered", "delay": 2},
                {"name": "Nudge", "mail_template_id": self.template_b.id, "condition": "not_ordered", "delay": 2},
            ]
        )
        buyer, other = self.customers[:2]
        first, thanks, nudge = campaign.step_ids.sorted("sequence")
        with self.at("2026-03-02 10:00:00"):
            campaign.action_activate()
            campaign.action_enrol((buyer | other).ids)
            self.run_engine(campaign)
        with self.at("2026-03-03 10:00:00"):
            order = self.env["sale.order"].create(
                {"partner_id": buyer.id, "order_line": [(0, 0, {"product_id": product.id})]}
            )
            order.action_confirm()
        with self.at("2026-03-04 10:00:00"):
            self.run_engine(campaign)  # "Thanks": ordered since the first email
        self.assertEqual(self.sends(campaign, step_id=thanks.id, partner_id=buyer.id).state, "sent")
        self.assertEqual(self.sends(campaign, step_id=thanks.id, partner_id=other.id).reason, "condition")
        with self.at("2026-03-06 10:00:00"):
            self.run_engine(campaign)  # "Nudge": nobody ordered since "Thanks"
        self.assertEqual(self.sends(campaign, step_id=nudge.id).mapped("state"), ["sent", "sent"])
        self.assertEqual(len(self.sends(campaign, step_id=first.id)), 2)

    def test_frequency_cap_across_campaigns(self):
        customer = self.customers[0]
        first = self.create_campaign(name="First")
        second = self.create_campaign(name="Second", frequency_cap=1, frequency_cap_days=7)
        (first | second).action_activate()
        first.action_enrol(customer.ids)
        self.run_engine(first)
        second.action_enrol((customer | self.customers[1]).ids)
        self.run_engine(second)
        self.assertEqual(self.sends(second, partner_id=customer.id).reason, "frequency_cap")
        self.assertEqual(self.sends(second, partner_id=self.customers[1].id).state, "sent")

    def test_quiet_hours_postpone_in_customer_timezone(self):
        customer = self.customers[0]
        customer.tz = "Asia/Shanghai"  # UTC+8
        campaign = self.create_campaign(quiet_hour_start=21.0, quiet_hour_end=8.0)
        with self.at("2026-03-02 14:00:00"):  # 22:00 in Shanghai
            campaign.action_activate()
            campaign.action_enrol(customer.ids)
            self.assertEqual(self.run_engine(campaign), 1)
        self.assertFalse(self.sends(campaign))
        self.assertEqual(str(campaign.participant_ids.next_action_date), "2026-03-03 00:00:00")  # 08:00 Shanghai
        with self.at("2026-03-03 00:00:00"):
            self.run_engine(campaign)
        self.assertEqual(self.sends(campaign).state, "sent")

    def test_webhook_step_queued_and_retried(self):
        campaign = self.create_campaign(
            steps=[{"name": "Push", "channel": "webhook", "webhook_url": "https://push.example.com/hook"}]
        )
        campaign.action_activate()
        campaign.action_enrol(self.customers[:2].ids)
        self.run_engine(campaign)
        calls = self.env["ecrm.campaign.webhook"].search([("campaign_id", "=", campaign.id)])
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0].payload["campaign"]["id"], campaign.id)
        Webhook = self.env["ecrm.campaign.webhook"]
        with patch("odoo.addons.ecrm_marketing.models.ecrm_campaign_webhook.requests.post") as post:
            post.return_value.status_code = 503
            post.return_value.text = "busy"
            Webhook._cron_send()
            self.assertEqual(post.call_count, 2)
            self.assertEqual(set(calls.mapped("state")), {"pending"})
            self.assertEqual(calls.mapped("attempts"), [1, 1])
            Webhook._cron_send()  # not due yet: back-off
            self.assertEqual(post.call_count, 2)
            calls.write({"next_try": "2000-01-01 00:00:00"})
            post.return_value.status_code = 200
            Webhook._cron_send()
            self.assertEqual(post.call_count, 4)
            self.assertEqual(post.call_args.kwargs["json"]["customer"]["id"] in self.customers[:2].ids, True)
        self.assertEqual(set(calls.mapped("state")), {"done"})

    def test_ab_split_proportions_and_winner(self):
        partners = self.env["res.partner"].create(
            [{"name": f"AB {i}", "email": f"ab{i}@example.com", **CONSENT} for i in range(200)]
        )
        campaign = self.create_campaign(
            steps=[
                {
                    "name": "Test",
                    "variant_ids": [
                        (0, 0, {"name": "A", "split_percent": 30, "mail_template_id": self.template.id, "sequence": 1}),
                        (
                            0,
                            0,
                            {"name": "B", "split_percent": 70, "mail_template_id": self.template_b.id, "sequence": 2},
                        ),
                    ],
                }
            ]
        )
        campaign.action_activate()
        campaign.action_enrol(partners.ids)
        self.run_engine(campaign)
        step = campaign.step_ids
        variant_a, variant_b = step.variant_ids.sorted("sequence")
        self.assertEqual(len(self.sends(campaign, variant_id=variant_a.id)), 60)
        self.assertEqual(len(self.sends(campaign, variant_id=variant_b.id)), 140)
        self.assertNotEqual(variant_a.mailing_id, variant_b.mailing_id)
        subjects = set(self.mails(campaign).filtered(lambda m: m.mailing_id == variant_a.mailing_id).mapped("subject"))
        self.assertTrue(all(s.startswith("Hello") for s in subjects))
        # the test period is not over: no winner yet
        self.env["ecrm.campaign"]._cron_select_winners()
        self.assertFalse(step.winner_variant_id)
        # A gets more clicks in proportion; after the test period A wins
        self.sends(campaign, variant_id=variant_a.id)[:30].mailing_trace_id.set_clicked()
        self.sends(campaign, variant_id=variant_b.id)[:30].mailing_trace_id.set_clicked()
        step._select_winner(force=True)
        self.assertEqual(step.winner_variant_id, variant_a)
        late = self.env["res.partner"].create(
            [{"name": f"Late {i}", "email": f"late{i}@example.com", **CONSENT} for i in range(10)]
        )
        campaign.action_enrol(late.ids)
        self.run_engine(campaign)
        self.assertEqual(
            self.sends(campaign, variant_id=variant_a.id).filtered(lambda s: s.partner_id in late).partner_id, late
        )

    def test_holdout_receives_nothing(self):
        partners = self.env["res.partner"].create(
            [{"name": f"H {i}", "email": f"h{i}@example.com", **CONSENT} for i in range(100)]
        )
        campaign = self.create_campaign(holdout_percent=20)
        campaign.action_activate()
        campaign.action_enrol(partners.ids)
        holdout = campaign.participant_ids.filtered(lambda p: p.state == "holdout")
        self.assertEqual(len(holdout), 20)
        self.run_engine(campaign)
        self.assertEqual(len(self.sends(campaign)), 80)
        self.assertFalse(self.sends(campaign).partner_id & holdout.partner_id)

    def test_batch_query_count_does_not_grow_with_size(self):
        """The send path is set-based: a batch of 30 participants costs about the queries of 3."""
        many = self.env["res.partner"].create(
            [{"name": f"Q {i}", "email": f"q{i}@example.com", **CONSENT} for i in range(36)]
        )
        products = self.env["product.product"].create([{"name": "Cup"}, {"name": "Saucer"}])
        # only these two are on sale: they are the best sellers every customer is offered
        self.env["product.template"].search([("id", "not in", products.product_tmpl_id.ids)]).sale_ok = False
        order = self.env["sale.order"].create(
            {"partner_id": many[0].id, "order_line": [(0, 0, {"product_id": p.id}) for p in products]}
        )
        order.action_confirm()
        # the shipped welcome template: segment, recommendations and product names for everyone
        welcome = self.env.ref("ecrm_marketing.mail_template_welcome")
        steps = [{"name": "Welcome", "mail_template_id": welcome.id}]
        warm, small, large = (self.create_campaign(name=name, steps=steps) for name in ("warm", "small", "large"))
        (warm | small | large).action_activate()
        warm.action_enrol(many[:3].ids)
        small.action_enrol(many[3:6].ids)
        large.action_enrol(many[6:].ids)
        self.run_engine(warm)  # warm caches (link trackers, templates)
        counts = []
        for campaign in (small, large):
            self.env.invalidate_all()
            start = self.env.cr.sql_log_count
            self.run_engine(campaign)
            counts.append(self.env.cr.sql_log_count - start)
        self.assertEqual(len(self.mails(large)), 30)
        self.assertIn("Cup", self.mails(large)[0].body_html)
        self.assertLessEqual(counts[1], counts[0] + 5, f"queries for 3 and 30 participants: {counts}")

    def test_default_template_in_customer_language(self):
        """The shipped templates are translated: a zh_CN customer gets the Chinese welcome email."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["ecrm_marketing"], ["zh_CN"], overwrite=True)
        chinese, english = self.customers[:2]
        chinese.lang = "zh_CN"
        welcome = self.env.ref("ecrm_marketing.mail_template_welcome")
        campaign = self.create_campaign(steps=[{"name": "Welcome", "mail_template_id": welcome.id}])
        campaign.action_activate()
        campaign.action_enrol((chinese | english).ids)
        self.run_engine(campaign)
        mails = {mail.res_id: mail for mail in self.mails(campaign)}
        self.assertEqual(mails[chinese.id].subject, "欢迎您，Customer 0！")
        self.assertIn("退订", mails[chinese.id].body_html)
        self.assertEqual(mails[english.id].subject, "Welcome, Customer 1!")
        self.assertIn("Unsubscribe", mails[english.id].body_html)
