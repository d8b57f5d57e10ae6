from datetime import date
from unittest.mock import patch

import psycopg2

from odoo.exceptions import ValidationError
from odoo.modules.module import load_script
from odoo.tests import tagged
from odoo.tools import mute_logger
from odoo.tools.misc import file_path

from .common import EcrmMarketingCase


class Crash(BaseException):
    """The worker dies (killed, out of memory): nothing after this point runs."""


@tagged("post_install", "-at_install", "ecrm")
class TestCampaignReentry(EcrmMarketingCase):
    """Recurring triggers: one participation per occurrence, never twice for the same one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create({"name": "Tea", "list_price": 5.0})

    def order(self, partner, confirm=True):
        order = self.env["sale.order"].create(
            {"partner_id": partner.id, "order_line": [(0, 0, {"product_id": self.product.id})]}
        )
        if confirm:
            order.action_confirm()
        return order

    def keys(self, campaign, partner=None):
        participants = campaign.participant_ids
        if partner:
            participants = participants.filtered(lambda p: p.partner_id == partner)
        return sorted(participants.mapped("enrolment_key"))

    def test_default_policy_follows_the_trigger(self):
        Campaign = self.env["ecrm.campaign"]
        self.assertEqual(self.create_campaign(trigger="new_customer").reentry, "once")
        for trigger in ("manual", "abandoned_cart", "birthday", "inactivity", "post_purchase", "low_rating"):
            self.assertEqual(self.create_campaign(trigger=trigger).reentry, "occurrence", trigger)
        campaign = self.create_campaign(trigger="new_customer")
        campaign.trigger = "birthday"  # a draft campaign changes trigger: the policy follows
        self.assertEqual(campaign.reentry, "occurrence")
        chosen = Campaign.create({"name": "Chosen", "trigger": "birthday", "reentry": "interval", "reentry_days": 300})
        self.assertEqual((chosen.reentry, chosen.reentry_days), ("interval", 300))
        # (Odoo's assertRaises: the refused write is rolled back to its savepoint, as a request would be)
        with self.assertRaises(ValidationError) as refused:
            chosen.reentry_days = 0
        self.assertIn("re-entry interval must be at least one day", str(refused.exception))
        self.assertEqual(chosen.reentry_days, 300)  # nothing changed

    def test_birthday_every_year_with_frozen_time(self):
        customer, later = self.customers[:2]
        customer.ecrm_birthday = date(1990, 3, 4)
        later.ecrm_birthday = date(1985, 3, 10)
        campaign = self.create_campaign(trigger="birthday", trigger_days=3)
        with self.at("2026-03-02 09:00:00"):
            campaign.action_activate()
            self.assertEqual(campaign.action_run(), {"enrolled": 1, "processed": 1})
        with self.at("2026-03-04 09:00:00"):  # the birthday itself: the same occurrence, nothing new
            self.assertEqual(campaign.action_run(), {"enrolled": 0, "processed": 0})
        with self.at("2026-03-08 09:00:00"):
            campaign.action_run()
        self.assertEqual(self.keys(campaign, customer), [f"birthday:{customer.id}:2026"])
        self.assertEqual(self.keys(campaign, later), [f"birthday:{later.id}:2026"])
        with self.at("2027-03-01 09:00:00"):
            self.assertEqual(campaign.action_run()["enrolled"], 1)
            campaign.action_run()  # a re-run the same day
        with self.at("2027-03-03 09:00:00"):
            campaign.action_run()
        self.assertEqual(
            self.keys(campaign, customer), [f"birthday:{customer.id}:2026", f"birthday:{customer.id}:2027"]
        )
        # one email a year, the same step each time
        sends = self.sends(campaign, partner_id=customer.id)
        self.assertEqual(len(sends), 2)
        self.assertEqual(len(sends.step_id), 1)
        self.assertEqual(len(sends.participant_id), 2)
        self.assertEqual(len(self.mails(campaign).filtered(lambda m: m.res_id == customer.id)), 2)

    def test_birthday_window_across_the_new_year(self):
        customer = self.customers[0]
        customer.ecrm_birthday = date(1990, 1, 2)
        campaign = self.create_campaign(trigger="birthday", trigger_days=3)
        with self.at("2026-12-30 09:00:00"):
            campaign.action_activate()
            campaign.action_run()
        with self.at("2027-01-01 09:00:00"):  # still within the 3 days before the same birthday
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"birthday:{customer.id}:2027"])

    def test_birthday_on_february_29th(self):
        customer = self.customers[0]
        customer.ecrm_birthday = date(2000, 2, 29)
        campaign = self.create_campaign(trigger="birthday", trigger_days=0)
        with self.at("2027-02-28 09:00:00"):  # common year: celebrated on the 28th
            campaign.action_activate()
            campaign.action_run()
        with self.at("2027-03-01 09:00:00"):
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"birthday:{customer.id}:2027"])
        with self.at("2028-02-28 09:00:00"):  # leap year: the 29th exists
            campaign.action_run()
            self.assertEqual(len(campaign.participant_ids), 1)
        with self.at("2028-02-29 09:00:00"):
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"birthday:{customer.id}:2027", f"birthday:{customer.id}:2028"])

    def test_second_abandoned_cart_is_reminded(self):
        shopper, buyer = self.customers[:2]
        campaign = self.create_campaign(trigger="abandoned_cart", trigger_hours=4)
        with self.at("2026-03-01 08:00:00"):
            campaign.action_activate()
            first = self.order(shopper, confirm=False)
            self.order(buyer, confirm=False)
        with self.at("2026-03-01 10:00:00"):
            self.order(buyer)  # ordered after leaving the cart: the cart is not abandoned
        with self.at("2026-03-01 13:00:00"):
            campaign.action_run()
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"cart:{first.id}"])
        with self.at("2026-03-03 08:00:00"):
            second = self.order(shopper, confirm=False)  # another quotation, the first still open
        with self.at("2026-03-03 13:00:00"):
            campaign.action_run()
        with self.at("2026-03-03 14:00:00"):
            campaign.action_run()
        self.assertEqual(self.keys(campaign), sorted([f"cart:{first.id}", f"cart:{second.id}"]))
        self.assertEqual(len(self.sends(campaign, partner_id=shopper.id)), 2)
        self.assertEqual(len(self.mails(campaign)), 2)

    def test_only_the_latest_cart_is_reminded(self):
        shopper = self.customers[0]
        with self.at("2026-03-01 08:00:00"):
            self.order(shopper, confirm=False)
            latest = self.order(shopper, confirm=False)
        campaign = self.create_campaign(trigger="abandoned_cart", trigger_hours=4)
        with self.at("2026-03-01 13:00:00"):
            campaign.action_activate()
            campaign.action_run()
        with self.at("2026-03-01 14:00:00"):
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"cart:{latest.id}"])

    def test_post_purchase_flow_for_each_order(self):
        customer = self.customers[0]
        campaign = self.create_campaign(trigger="post_purchase", trigger_days=7, trigger_max_age_days=7)
        with self.at("2026-03-01 08:00:00"):
            campaign.action_activate()
            first = self.order(customer)
        with self.at("2026-03-03 08:00:00"):
            second = self.order(customer)
        with self.at("2026-03-08 09:00:00"):
            campaign.action_run()
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"order:{first.id}"])
        with self.at("2026-03-10 09:00:00"):
            campaign.action_run()
        with self.at("2026-03-11 09:00:00"):
            campaign.action_run()
        self.assertEqual(self.keys(campaign), sorted([f"order:{first.id}", f"order:{second.id}"]))
        self.assertEqual(len(self.sends(campaign, partner_id=customer.id, state="sent")), 2)

    def test_entering_a_segment_again_enrols_again(self):
        at_risk = self.env["ecrm.segment"].create({"name": "At Risk", "code": "test_reentry_risk"})
        loyal = self.env["ecrm.segment"].create({"name": "Loyal", "code": "test_reentry_loyal"})
        History = self.env["ecrm.segment.history"]
        customer = self.customers[0]
        campaign = self.create_campaign(trigger="segment_entered", trigger_segment_id=at_risk.id)
        campaign.action_activate()
        first = History.create({"partner_id": customer.id, "segment_to_id": at_risk.id})
        self.env["ecrm.campaign"]._cron_enrol()
        History.create({"partner_id": customer.id, "segment_from_id": at_risk.id, "segment_to_id": loyal.id})
        second = History.create({"partner_id": customer.id, "segment_from_id": loyal.id, "segment_to_id": at_risk.id})
        self.env["ecrm.campaign"]._cron_enrol()
        self.assertEqual(self.keys(campaign), sorted([f"history:{first.id}", f"history:{second.id}"]))
        # the hook fires for the same history row: the same occurrence
        customer._ecrm_notify_event("segments.segment_entered", history=second)
        # a crash before the cursor was saved: the rows are read again, harmlessly
        campaign.history_cursor = 0
        self.env["ecrm.campaign"]._cron_enrol()
        self.assertEqual(len(campaign.participant_ids), 2)
        self.run_engine(campaign)
        self.assertEqual(len(self.sends(campaign, partner_id=customer.id)), 2)

    def test_inactive_again_after_a_new_order(self):
        customer = self.customers[0]
        campaign = self.create_campaign(trigger="inactivity", trigger_days=30)
        with self.at("2026-01-01 10:00:00"):
            first = self.order(customer)
            campaign.action_activate()
        with self.at("2026-02-05 10:00:00"):
            campaign.action_run()
            campaign.action_run()
        self.assertEqual(self.keys(campaign), [f"inactive:{customer.id}:{first.id}"])
        with self.at("2026-02-10 10:00:00"):
            second = self.order(customer)
        with self.at("2026-03-01 10:00:00"):  # active: less than 30 days
            campaign.action_run()
            self.assertEqual(len(campaign.participant_ids), 1)
        with self.at("2026-03-20 10:00:00"):
            campaign.action_run()
        self.assertEqual(
            self.keys(campaign), sorted([f"inactive:{customer.id}:{first.id}", f"inactive:{customer.id}:{second.id}"])
        )

    def test_sibling_hook_per_occurrence(self):
        campaign = self.create_campaign(trigger="points_expiring")
        campaign.action_activate()
        customer = self.customers[0]
        customer._ecrm_notify_event("loyalty.points_expiring", points=50, expiry_date=date(2026, 6, 30))
        customer._ecrm_notify_event("loyalty.points_expiring", points=50, expiry_date=date(2026, 6, 30))
        customer._ecrm_notify_event("loyalty.points_expiring", points=80, expiry_date=date(2026, 12, 31))
        self.assertEqual(len(campaign.participant_ids), 2)

    def test_once_per_customer(self):
        shopper = self.customers[0]
        campaign = self.create_campaign(trigger="abandoned_cart", trigger_hours=4, reentry="once")
        with self.at("2026-03-01 08:00:00"):
            campaign.action_activate()
            first = self.order(shopper, confirm=False)
        with self.at("2026-03-01 13:00:00"):
            campaign.action_run()
        with self.at("2026-03-02 08:00:00"):
            self.order(shopper, confirm=False)
        with self.at("2026-03-02 13:00:00"):
            campaign.action_run()
            self.assertEqual(campaign.action_enrol(shopper.ids, enrolment_key="cart:manual"), [])
        self.assertEqual(self.keys(campaign), [f"cart:{first.id}"])
        # the database itself refuses a second participation under this policy
        participant = campaign.participant_ids
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"):
            participant.copy({"enrolment_key": "another"})

    def test_at_most_every_n_days(self):
        at_risk = self.env["ecrm.segment"].create({"name": "At Risk", "code": "test_interval_risk"})
        History = self.env["ecrm.segment.history"]
        customer, other = self.customers[:2]
        campaign = self.create_campaign(
            trigger="segment_entered", trigger_segment_id=at_risk.id, reentry="interval", reentry_days=30
        )
        with self.at("2026-03-01 10:00:00"):
            campaign.action_activate()
            History.create({"partner_id": customer.id, "segment_to_id": at_risk.id})
            campaign.action_run()
        with self.at("2026-03-15 10:00:00"):
            History.create({"partner_id": customer.id, "segment_to_id": at_risk.id})  # within 30 days: ignored
            History.create({"partner_id": other.id, "segment_to_id": at_risk.id})
            campaign.action_run()
        self.assertEqual(len(campaign.participant_ids.filtered(lambda p: p.partner_id == customer)), 1)
        self.assertEqual(len(campaign.participant_ids.filtered(lambda p: p.partner_id == other)), 1)
        with self.at("2026-04-05 10:00:00"):
            latest = History.create({"partner_id": customer.id, "segment_to_id": at_risk.id})
            campaign.action_run()
        self.assertIn(f"history:{latest.id}", self.keys(campaign, customer))
        self.assertEqual(len(self.keys(campaign, customer)), 2)

    def test_same_occurrence_never_twice_whatever_the_policy(self):
        campaign = self.create_campaign(reentry="once")
        campaign.action_activate()
        customer = self.customers[0]
        self.assertEqual(len(campaign.action_enrol(customer.ids, enrolment_key="promo:spring")), 1)
        campaign.reentry = "occurrence"
        self.assertEqual(campaign.action_enrol(customer.ids, enrolment_key="promo:spring"), [])
        self.assertEqual(len(campaign.action_enrol(customer.ids, enrolment_key="promo:summer")), 1)
        # the database refuses the same occurrence twice
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"):
            campaign.participant_ids[:1].copy()

    def test_each_occurrence_sent_once_under_rerun(self):
        campaign = self.create_campaign()
        campaign.action_activate()
        customer = self.customers[0]
        campaign.action_enrol(customer.ids, enrolment_key="promo:spring")
        campaign.action_enrol(customer.ids, enrolment_key="promo:summer")
        self.assertEqual(self.run_engine(campaign), 2)
        self.assertEqual(len(self.mails(campaign)), 2)
        # both participations put back on the step (a crash after the send, before moving on)
        campaign.participant_ids.write(
            {"state": "running", "current_step_id": campaign.step_ids.id, "next_action_date": "2000-01-01 00:00:00"}
        )
        self.run_engine(campaign)
        self.assertEqual(len(self.sends(campaign)), 2)
        self.assertEqual(len(self.mails(campaign)), 2)
        # the database refuses a second message of the step for one participation
        send = self.sends(campaign)[:1]
        with self.assertRaises(psycopg2.IntegrityError), mute_logger("odoo.sql_db"):
            self.env["ecrm.campaign.send"].create(
                {
                    "campaign_id": campaign.id,
                    "step_id": send.step_id.id,
                    "partner_id": customer.id,
                    "participant_id": send.participant_id.id,
                    "company_id": campaign.company_id.id,
                    "channel": "email",
                    "state": "sent",
                    "date": "2026-03-01 10:00:00",
                }
            )

    def test_enrolment_crash_mid_batch_then_rerun(self):
        customers = self.customers[:5]
        campaign = self.create_campaign(trigger="post_purchase", trigger_days=7)
        with self.at("2026-03-01 08:00:00"):
            campaign.action_activate()
            orders = [self.order(customer) for customer in customers]
        Campaign = type(self.env["ecrm.campaign"])
        original = Campaign._enrol_rows
        calls = []

        def crashing_enrol(campaign_self, rows):
            calls.append(len(rows))
            created = original(campaign_self, rows)
            if len(calls) == 2:
                raise Crash  # the second batch was inserted, then the process dies before its commit
            return created

        with self.at("2026-03-08 09:00:00"):
            # (not assertRaises: it would roll back to its own savepoint, hiding the committed first batch)
            with patch.object(Campaign, "_enrol_rows", crashing_enrol):
                try:
                    campaign._enrol_from_trigger(batch_size=2)
                    crashed = False
                except Crash:
                    crashed = True
            self.assertTrue(crashed)
            self.env.invalidate_all()
            # the first batch is kept, the crashed one left nothing
            self.assertEqual(len(campaign.participant_ids), 2)
            # the re-run enrols each remaining order once
            self.assertEqual(campaign._enrol_from_trigger(batch_size=2), 3)
            self.assertEqual(campaign._enrol_from_trigger(batch_size=2), 0)
        self.assertEqual(self.keys(campaign), sorted(f"order:{order.id}" for order in orders))

    def test_upgrade_replaces_the_once_ever_constraints(self):
        """The 19.0.1.1.0 upgrade script turns a 19.0.1.0.0 database into the per-occurrence schema."""
        cr = self.env.cr
        campaign = self.create_campaign()
        campaign.action_activate()
        customer = self.customers[0]
        [old_id] = campaign.action_enrol(customer.ids)
        # the 19.0.1.0.0 schema: once per (campaign, customer), once per (campaign, step, customer), no policy
        cr.execute(
            "ALTER TABLE ecrm_campaign_participant ADD CONSTRAINT ecrm_campaign_participant_campaign_partner_unique "
            "UNIQUE (campaign_id, partner_id)"
        )
        cr.execute(
            "CREATE UNIQUE INDEX ecrm_campaign_send_step_partner_unique "
            "ON ecrm_campaign_send (campaign_id, step_id, partner_id)"
        )
        cr.execute("ALTER TABLE ecrm_campaign_participant ALTER COLUMN reentry DROP NOT NULL")
        cr.execute("UPDATE ecrm_campaign_participant SET reentry = NULL WHERE id = %s", [old_id])
        model = self.env["ir.model"]._get("ecrm.campaign.participant")
        module = self.env["ir.module.module"].search([("name", "=", "ecrm_marketing")])
        self.env["ir.model.constraint"].create(
            {
                "name": "ecrm_campaign_participant_campaign_partner_unique",
                "model": model.id,
                "module": module.id,
                "type": "u",
                "definition": "UNIQUE (campaign_id, partner_id)",
            }
        )
        script = load_script(file_path("ecrm_marketing/migrations/19.0.1.1.0/pre-migrate.py"), "pre_migrate")
        script.migrate(cr, "19.0.1.0.0")
        cr.execute(
            """SELECT conname FROM pg_constraint WHERE conname = 'ecrm_campaign_participant_campaign_partner_unique'
               UNION ALL SELECT indexname FROM pg_indexes WHERE indexname = 'ecrm_campaign_send_step_partner_unique'"""
        )
        self.assertEqual(cr.fetchall(), [])
        self.assertFalse(
            self.env["ir.model.constraint"].search([("name", "=", "ecrm_campaign_participant_campaign_partner_unique")])
        )
        self.env.invalidate_all()
        # the participation of the old rule is "once"; new occurrences enrol (the campaign's policy)
        self.assertEqual(self.env["ecrm.campaign.participant"].browse(old_id).reentry, "once")
        self.assertEqual(len(campaign.action_enrol(customer.ids, enrolment_key="promo:again")), 1)
        self.assertEqual(len(campaign.participant_ids), 2)
