import re
from urllib.parse import urlparse

from odoo.tests import tagged
from odoo.tools.mail import TEXT_URL_REGEX

from odoo.addons.sms.tests.common import MockSMS

from .common import CONSENT, EcrmMarketingCase

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"}


@tagged("post_install", "-at_install", "ecrm")
class TestSmsTracking(MockSMS, EcrmMarketingCase):
    """SMS steps are tracked by Odoo's SMS marketing: delivery reports from IAP, clicks, STOP link."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["iap.account"].get("sms")
        cls.sms_link_template = cls.env["sms.template"].create(
            {
                "name": "Sale SMS",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "body": "Hi {{ object.name }}, the sale is on: https://shop.example.com/sale",
            }
        )
        cls.sms_link_template_b = cls.sms_link_template.copy(
            {"name": "Sale SMS B", "body": "{{ object.name }}: -20% today https://shop.example.com/sale"}
        )
        cls.texted = cls.customers[:4]
        for index, customer in enumerate(cls.texted):
            customer.phone = f"+32 470 00 00 0{index}"

    def _traces(self, campaign):
        return self.sends(campaign, state="sent").mailing_trace_id

    def _report(self, status, sends):
        """A delivery report of IAP for ``sends``, through the public route IAP calls."""
        uuids = sends.mailing_trace_id.sms_tracker_ids.mapped("sms_uuid")
        self.make_jsonrpc_request("/sms/status", {"message_statuses": [{"sms_status": status, "uuids": uuids}]})
        self.env.invalidate_all()

    def _click(self, sms_body):
        """Follow the tracked link of an SMS as the customer's phone would."""
        [url] = [u for u in re.findall(TEXT_URL_REGEX, sms_body) if "/r/" in u]
        response = self.url_open(urlparse(url).path, headers=BROWSER, allow_redirects=False)
        self.assertEqual(response.status_code, 301)
        # to the shop, with the campaign's UTM parameters
        self.assertTrue(response.headers["Location"].startswith("https://shop.example.com/sale?utm_campaign="))
        self.env.invalidate_all()

    def test_sms_step_sent_delivered_bounced_failed_clicked_per_variant(self):
        campaign = self.create_campaign(
            steps=[
                {
                    "name": "Sale",
                    "channel": "sms",
                    "variant_ids": [
                        (0, 0, {"name": "A", "split_percent": 50, "sms_template_id": self.sms_link_template.id}),
                        (0, 0, {"name": "B", "split_percent": 50, "sms_template_id": self.sms_link_template_b.id}),
                    ],
                }
            ]
        )
        campaign.action_activate()
        step = campaign.step_ids
        variant_a, variant_b = step.variant_ids.sorted("sequence")
        self.assertEqual(step.variant_ids.mailing_id.mapped("mailing_type"), ["sms", "sms"])
        campaign.action_enrol(self.texted.ids)
        self.run_engine(campaign)
        sends = self.sends(campaign, state="sent")
        self.assertEqual(len(sends), 4)
        by_partner = {send.partner_id: send for send in sends}
        sms = self.env["sms.sms"].sudo().browse(sends.mapped("sms_id_int"))
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        traces = sends.mailing_trace_id
        self.assertEqual(len(traces), 4)
        self.assertEqual(set(traces.mapped("trace_type")), {"sms"})
        self.assertEqual(set(traces.mapped("trace_status")), {"outgoing"})
        self.assertEqual(traces.mass_mailing_id, variant_a.mailing_id | variant_b.mailing_id)
        for send in sends:
            record = self.env["sms.sms"].sudo().browse(send.sms_id_int)
            trace = send.mailing_trace_id
            self.assertEqual(trace.sms_id_int, record.id)
            self.assertEqual(trace.sms_number, send.partner_id.phone_sanitized)
            self.assertEqual(trace.sms_tracker_ids.sms_uuid, record.uuid)
            # the link is shortened and carries the SMS id; the STOP link opens SMS marketing's page
            self.assertNotIn("https://shop.example.com/sale", record.body)
            self.assertRegex(record.body, rf"/r/\w+/s/{record.id}\b")
            self.assertIn(f"/sms/{trace.mass_mailing_id.id}/{trace.sms_code}", record.body)
            self.assertIn("STOP SMS", record.body)

        # the queue sends through IAP: one number is refused (wrong format), the others accepted
        refused = self.texted[3]
        with self.mockSMSGateway(nbr_t_error={refused.phone_sanitized: "wrong_number_format"}):
            self.env["sms.sms"].sudo()._process_queue()
        self.env.invalidate_all()
        self.assertEqual(len(self._sms), 3)
        self.assertEqual(by_partner[refused].mailing_trace_id.trace_status, "error")
        self.assertEqual(by_partner[self.texted[0]].mailing_trace_id.trace_status, "pending")
        # delivery reports: two delivered, one bounced (invalid destination)
        delivered = by_partner[self.texted[0]] | by_partner[self.texted[1]]
        bounced = by_partner[self.texted[2]]
        self._report("delivered", delivered)
        self._report("invalid_destination", bounced)
        self.assertEqual(set(delivered.mailing_trace_id.mapped("trace_status")), {"sent"})
        self.assertEqual(bounced.mailing_trace_id.trace_status, "bounce")
        # the first customer clicks the link of the text they received
        self._click(next(s["body"] for s in self._sms if s["number"] == self.texted[0].phone_sanitized))
        self.assertTrue(by_partner[self.texted[0]].mailing_trace_id.links_click_datetime)

        stats = campaign.get_stats()[str(campaign.id)]
        kpis = stats["steps"][str(step.id)]
        self.assertEqual(
            {k: kpis[k] for k in ("sent", "delivered", "bounced", "failed", "clicked", "opened")},
            # a click marks the SMS trace opened too (link_tracker's click on a trace)
            {"sent": 4, "delivered": 2, "bounced": 1, "failed": 1, "clicked": 1, "opened": 1},
        )
        expected = {}
        for send in sends:
            row = expected.setdefault(str(send.variant_id.id), {"sent": 0, "delivered": 0, "bounced": 0, "failed": 0})
            row["sent"] += 1
            row["delivered"] += send in delivered
            row["bounced"] += send == bounced
            row["failed"] += send.partner_id == refused
        self.assertEqual(
            {
                vid: {k: kpis[k] for k in ("sent", "delivered", "bounced", "failed")}
                for vid, kpis in stats["variants"].items()
            },
            expected,
        )
        # the same figures on the step and variant screens
        self.assertEqual(
            (step.send_count, step.delivered_count, step.bounced_count, step.failed_count, step.clicked_count),
            (4, 2, 1, 1, 1),
        )
        self.assertEqual(sum(step.variant_ids.mapped("delivered_count")), 2)
        funnel = dict(
            self.env["ecrm.campaign.funnel"]._read_group([("campaign_id", "=", campaign.id)], ["stage"], ["__count"])
        )
        self.assertEqual(funnel, {"1_sent": 4, "2_delivered": 2, "3_opened": 1, "4_clicked": 1})

    def test_sms_stop_link_unsubscribes_and_exits(self):
        campaign = self.create_campaign(
            steps=[
                {"name": "Text", "channel": "sms", "sms_template_id": self.sms_link_template.id},
                {"name": "Reminder", "channel": "sms", "sms_template_id": self.sms_template.id, "delay": 1},
            ]
        )
        quitter, other = self.texted[:2]
        with self.at("2026-03-02 10:00:00"):
            campaign.action_activate()
            campaign.action_enrol((quitter | other).ids)
            self.run_engine(campaign)
        trace = self.sends(campaign, partner_id=quitter.id).mailing_trace_id
        # the STOP page of SMS marketing, opened from the text, blacklists the number
        response = self.url_open(
            f"/sms/{trace.mass_mailing_id.id}/unsubscribe/{trace.sms_code}",
            params={"sms_number": trace.sms_number},
            headers=BROWSER,
        )
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", quitter.phone_sanitized)]))
        with self.at("2026-03-03 10:00:00"):
            self.run_engine(campaign)
        by_partner = {p.partner_id: p for p in campaign.participant_ids}
        self.assertEqual((by_partner[quitter].state, by_partner[quitter].exit_reason), ("exited", "unsubscribed"))
        self.assertEqual(by_partner[other].state, "done")
        kpis = campaign.get_stats()[str(campaign.id)]["campaign"]
        self.assertEqual((kpis["sent"], kpis["unsubscribed"]), (3, 1))

    def test_sms_reachability(self):
        blacklisted, opted_out, no_phone, ok = self.texted
        no_phone.phone = False
        self.env["phone.blacklist"].sudo().add(blacklisted.phone_sanitized)
        mailing_list = self.env["mailing.list"].create({"name": "SMS club"})
        contact = self.env["mailing.contact"].create({"name": "x", "mobile": opted_out.phone})
        self.env["mailing.subscription"].create({"contact_id": contact.id, "list_id": mailing_list.id, "opt_out": True})
        campaign = self.create_campaign(
            exit_on_unsubscribe=False,
            optout_list_ids=[(4, mailing_list.id)],
            steps=[{"name": "Text", "channel": "sms", "sms_template_id": self.sms_template.id}],
        )
        campaign.action_activate()
        campaign.action_enrol(self.texted.ids)
        self.run_engine(campaign)
        reasons = {s.partner_id: (s.state, s.reason) for s in self.sends(campaign)}
        self.assertEqual(
            reasons,
            {
                blacklisted: ("skipped", "blacklisted"),
                opted_out: ("skipped", "opted_out"),
                no_phone: ("skipped", "no_phone"),
                ok: ("sent", False),
            },
        )
        self.assertEqual(
            self.env["sms.sms"].sudo().search([("mailing_id", "=", campaign.step_ids.mailing_id.id)]).partner_id, ok
        )

    def test_sms_batch_query_count_does_not_grow_with_size(self):
        """The SMS send path is set-based: a batch of 30 participants costs about the queries of 3."""
        many = self.env["res.partner"].create(
            [{"name": f"T {i}", "phone": f"+32 471 00 {i:02d} 00", "tz": "UTC", **CONSENT} for i in range(36)]
        )
        steps = [{"name": "Text", "channel": "sms", "sms_template_id": self.sms_link_template.id}]
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
        self.assertEqual(len(self.sends(large, state="sent").mailing_trace_id), 30)
        self.assertLessEqual(counts[1], counts[0] + 5, f"queries for 3 and 30 participants: {counts}")
