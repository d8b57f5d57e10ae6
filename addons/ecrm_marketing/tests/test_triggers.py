from datetime import date, timedelta

from odoo.tests import tagged

from .common import EcrmMarketingCase


@tagged("post_install", "-at_install", "ecrm")
class TestCampaignTriggers(EcrmMarketingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create({"name": "Tea", "list_price": 5.0})

    def order(self, partner, confirm=True, lines=True):
        order = self.env["sale.order"].create(
            {"partner_id": partner.id, "order_line": [(0, 0, {"product_id": self.product.id})] if lines else []}
        )
        if confirm:
            order.action_confirm()
        return order

    def enrolled(self, campaign):
        return campaign.participant_ids.partner_id

    def test_new_customer(self):
        # the customers of the set-up were created before the activation (now): they are not new
        with self.at("2030-03-01 09:00:00"):
            campaign = self.create_campaign(trigger="new_customer")
            campaign.action_activate()
        with self.at("2030-03-01 10:00:00"):
            newcomer = self.env["res.partner"].create({"name": "New", "email": "new@example.com", "customer_rank": 1})
            self.env["res.partner"].create({"name": "Not a customer", "email": "vendor@example.com"})
            shopper = self.env["res.partner"].create({"name": "Storefront", "email": "shopper@example.com"})
            self.order(shopper, confirm=False)  # a storefront customer with a first quotation
            self.env["ecrm.campaign"]._cron_enrol()
        self.assertEqual(self.enrolled(campaign), newcomer | shopper)  # older customers and non-customers are left out
        self.assertIn(f"customer:{newcomer.id}", campaign.participant_ids.mapped("enrolment_key"))
        self.env["ecrm.campaign"]._cron_enrol()
        self.assertEqual(len(campaign.participant_ids), 2)

    def test_abandoned_cart(self):
        with self.at("2026-03-01 08:00:00"):
            cart = self.order(self.customers[0], confirm=False)
            self.order(self.customers[1], confirm=False, lines=False)  # empty quotation
            self.order(self.customers[2], confirm=True)  # confirmed: not abandoned
            unreachable = self.env["res.partner"].create({"name": "No email"})
            self.order(unreachable, confirm=False)
        with self.at("2026-03-01 10:00:00"):
            self.order(self.customers[3], confirm=False)  # too recent
            reminder = self.env.ref("ecrm_marketing.mail_template_abandoned_cart")
            campaign = self.create_campaign(
                trigger="abandoned_cart",
                trigger_hours=4,
                steps=[{"name": "Reminder", "mail_template_id": reminder.id}],
            )
            campaign.action_activate()
        with self.at("2026-03-01 13:00:00"):
            campaign.action_run()
        self.assertEqual(self.enrolled(campaign), self.customers[0])
        self.assertEqual(campaign.participant_ids.enrolment_key, f"cart:{cart.id}")
        self.assertEqual(len(self.mails(campaign)), 1)
        self.assertIn("Tea", self.mails(campaign).body_html, "the reminder lists the cart's products")
        with self.at("2026-03-01 15:00:00"):
            campaign.action_run()  # the first customer was reminded already, the later cart is old enough now
        self.assertEqual(len(self.mails(campaign)), 2)
        self.assertEqual(self.enrolled(campaign), self.customers[0] | self.customers[3])
        self.assertEqual(len(self.sends(campaign, partner_id=self.customers[0].id)), 1)

    def test_birthday(self):
        campaign = self.create_campaign(trigger="birthday", trigger_days=3)
        self.customers[0].ecrm_birthday = date(1990, 3, 4)
        self.customers[1].ecrm_birthday = date(1985, 3, 10)
        with self.at("2026-03-02 09:00:00"):
            campaign.action_activate()
            campaign.action_run()
        self.assertEqual(self.enrolled(campaign), self.customers[0])

    def test_segment_entered_and_exited_from_history(self):
        Segment = self.env["ecrm.segment"]
        at_risk = Segment.create({"name": "At Risk", "code": "test_at_risk"})
        loyal = Segment.create({"name": "Loyal", "code": "test_loyal"})
        History = self.env["ecrm.segment.history"]
        History.create({"partner_id": self.customers[0].id, "segment_to_id": at_risk.id})
        entered = self.create_campaign(trigger="segment_entered", trigger_segment_id=at_risk.id, name="Entered")
        exited = self.create_campaign(trigger="segment_exited", trigger_segment_id=loyal.id, name="Exited")
        (entered | exited).action_activate()
        History.create({"partner_id": self.customers[1].id, "segment_to_id": at_risk.id})
        History.create({"partner_id": self.customers[2].id, "segment_from_id": loyal.id, "segment_to_id": at_risk.id})
        self.env["ecrm.campaign"]._cron_enrol()
        # history before activation is processed too (cursor starts at 0), in id order
        self.assertEqual(self.enrolled(entered), self.customers[:3])
        self.assertEqual(self.enrolled(exited), self.customers[2])
        self.assertEqual(entered.history_cursor, History.search([], order="id desc", limit=1).id)
        # only new rows are read on the next run
        History.create({"partner_id": self.customers[3].id, "segment_to_id": at_risk.id})
        self.env["ecrm.campaign"]._cron_enrol()
        self.assertEqual(self.enrolled(entered), self.customers[:4])

    def test_segment_hook_enrols_immediately(self):
        at_risk = self.env["ecrm.segment"].create({"name": "At Risk", "code": "test_at_risk2"})
        campaign = self.create_campaign(trigger="segment_entered", trigger_segment_id=at_risk.id)
        campaign.action_activate()
        history = self.env["ecrm.segment.history"].create(
            {"partner_id": self.customers[4].id, "segment_to_id": at_risk.id}
        )
        self.customers[4]._ecrm_notify_event("segments.segment_entered", history=history)
        self.assertEqual(self.enrolled(campaign), self.customers[4])

    def test_audience_segments_and_tags(self):
        vip = self.env["ecrm.segment"].create({"name": "VIP", "code": "test_vip"})
        self.env["ecrm.segment.history"].create({"partner_id": self.customers[0].id, "segment_to_id": vip.id})
        self.env["ecrm.segment.history"].create({"partner_id": self.customers[1].id, "segment_to_id": vip.id})
        # the recompute writes the customers' current segment together with their history rows
        self.env["ecrm.segment.member"].create(
            [{"partner_id": p.id, "company_id": self.env.company.id, "segment_id": vip.id} for p in self.customers[:2]]
        )
        tag = self.env["res.partner.category"].create({"name": "Newsletter"})
        self.customers[1].category_id = tag
        self.customers[2].category_id = tag
        campaign = self.create_campaign(segment_ids=[(4, vip.id)], tag_ids=[(4, tag.id)])
        campaign.action_activate()
        campaign.action_enrol(self.customers.ids)
        self.assertEqual(self.enrolled(campaign), self.customers[1])

    def test_inactivity(self):
        with self.at("2026-01-01 10:00:00"):
            self.order(self.customers[0])
            self.order(self.customers[1])
        with self.at("2026-03-01 10:00:00"):
            self.order(self.customers[1])  # active again
            campaign = self.create_campaign(trigger="inactivity", trigger_days=30)
            campaign.action_activate()
            campaign.action_run()
        self.assertEqual(self.enrolled(campaign), self.customers[0])

    def test_post_purchase(self):
        with self.at("2026-03-01 08:00:00"):
            campaign = self.create_campaign(trigger="post_purchase", trigger_days=7)
            campaign.action_activate()
        with self.at("2026-03-01 10:00:00"):
            order = self.order(self.customers[0])
        with self.at("2026-03-05 10:00:00"):
            self.order(self.customers[1])
            campaign.action_run()
            self.assertFalse(campaign.participant_ids)
        with self.at("2026-03-08 11:00:00"):
            campaign.action_run()
        self.assertEqual(self.enrolled(campaign), self.customers[0])
        self.assertEqual(campaign.participant_ids.enrolment_key, f"order:{order.id}")

    def test_sibling_hooks(self):
        campaigns = {}
        for trigger in ("points_expiring", "tier_changed", "low_rating"):
            campaigns[trigger] = self.create_campaign(trigger=trigger, name=trigger)
            campaigns[trigger].action_activate()
        self.customers[0]._ecrm_notify_event(
            "loyalty.points_expiring", points=120, expiry_date=date.today() + timedelta(days=30)
        )
        self.customers[1]._ecrm_notify_event("loyalty.tier_changed", tier_from="Silver", tier_to="Gold")
        self.customers[2]._ecrm_notify_event("helpdesk.low_rating", ticket=self.env["res.partner"], rating=1)
        self.customers[2]._ecrm_notify_event("helpdesk.low_rating", rating=1)  # fired twice: enrolled once
        self.customers[3]._ecrm_notify_event("some.unknown_event")
        self.assertEqual(self.enrolled(campaigns["points_expiring"]), self.customers[0])
        self.assertEqual(self.enrolled(campaigns["tier_changed"]), self.customers[1])
        self.assertEqual(self.enrolled(campaigns["low_rating"]), self.customers[2])
