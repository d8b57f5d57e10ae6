from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from odoo.addons.ecrm_segments.models import ecrm_partner_score
from odoo.addons.ecrm_segments.models.res_partner import ResPartner

from .common import EcrmCase, EcrmOrdersMixin


class WorkerDied(Exception):
    """Stands for a worker killed right after a committed batch."""


@tagged("post_install", "-at_install", "ecrm")
class TestRecomputeInBackground(EcrmCase, EcrmOrdersMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.config = cls.env["ecrm.config"]._get_for_company(cls.company)
        cls.env["sale.order"].search([("state", "=", "sale"), ("company_id", "=", cls.company.id)]).write(
            {"state": "cancel"}
        )
        cls.Partner = cls.env["res.partner"]

    def setUp(self):
        super().setUp()
        self.cron = self.env.ref("ecrm_segments.ir_cron_ecrm_recompute")
        self.Trigger = self.env["ir.cron.trigger"].sudo()
        self.Trigger.search([("cron_id", "=", self.cron.id)]).unlink()
        self.config.sudo().write({"run_state": "idle", "last_run_day": False})

    def triggers(self):
        return self.Trigger.search_count([("cron_id", "=", self.cron.id)])

    def test_button_queues_the_cron_once(self):
        config = self.config.with_user(self.ecrm_manager)
        action = config.action_recompute_now()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.triggers(), 1, "the recompute job is due now")
        self.assertEqual(config.run_state, "queued")
        # what the progress widget reads, as the manager
        self.assertEqual(
            config.read(["run_state", "run_progress", "run_done", "run_total"])[0]["run_state"],
            "queued",
        )
        again = config.action_recompute_now()
        self.assertEqual(again["params"]["type"], "warning")
        self.assertIn("already under way", again["params"]["message"])
        self.assertEqual(self.triggers(), 1, "a second click starts nothing")

    def test_a_state_left_by_a_dead_worker_does_not_block(self):
        self.config.sudo().write({"run_state": "running"})  # no trigger due, the job is not locked
        action = self.config.with_user(self.ecrm_manager).action_recompute_now()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.triggers(), 1)

    def test_users_cannot_start_it(self):
        with self.assertRaises(AccessError):
            self.config.with_user(self.ecrm_user).action_recompute_now()
        self.assertEqual(self.triggers(), 0)

    def test_cron_reports_progress_step_by_step(self):
        partners = self.Partner.create([{"name": f"Progress {i}"} for i in range(4)])
        for i, partner in enumerate(partners):
            self.make_order(partner, 10 * (i + 1), days_ago=i + 1)
        self.config.with_user(self.ecrm_manager).action_recompute_now()
        seen = []

        def commit_progress(processed=0, remaining=None, deactivate=False):
            seen.append((self.config.run_state, self.config.run_progress, self.config.run_done, self.config.run_total))
            return 1.0

        with patch.object(type(self.env["ir.cron"]), "_commit_progress", side_effect=commit_progress):
            self.env["ecrm.partner.score"]._cron_recompute()
        states = [s[0] for s in seen]
        self.assertIn("running", states)
        self.assertIn(("running", 40.0), [s[:2] for s in seen], "committed once the scores are written")
        last_running = [s for s in seen if s[0] == "running"][-1]
        self.assertGreaterEqual(last_running[3], 4)
        self.assertEqual(last_running[2], last_running[3], "every customer done")
        self.assertEqual((self.config.run_state, self.config.run_progress), ("idle", 100.0))
        self.assertTrue(self.score_of(partners[0]))

    def test_crash_after_a_batch_resumes_without_repeating_it(self):
        """The scored customers' scores, segments and history are one statement; then the prospects
        (customers without counted orders) go in batches, each committed: a worker dying after the
        first prospect batch leaves that batch complete, and the next run does not repeat it."""
        customers = self.Partner.create([{"name": f"Crash Customer {i}"} for i in range(3)])
        for i, partner in enumerate(customers):
            self.make_order(partner, 10 * (i + 1), days_ago=i + 1)
        self.env["ecrm.segment"].create(
            {
                "name": "Crash Prospects",
                "code": "crash_prospects",
                "rule_type": "domain",
                "domain": "[('name', 'like', 'Crash Prospect')]",
                "company_id": self.env.company.id,
            }
        )
        partners = self.Partner.create([{"name": f"Crash Prospect {i}", "customer_rank": 1} for i in range(6)])
        self.env.cr.execute("SELECT MIN(id) FROM res_partner")
        low = self.env.cr.fetchone()[0]
        batch = partners[2].id - low + 1  # the first batch of prospects ends with the third one
        History = self.env["ecrm.segment.history"]
        calls = []

        def dies_after_first_batch(processed=0, remaining=None, deactivate=False):
            calls.append(self.config.run_done)
            if self.config.run_done:  # the first batch of customers is committed: the worker dies
                raise WorkerDied()
            return 1.0

        died = False
        with (
            patch.object(ecrm_partner_score, "SEGMENT_BATCH", batch),
            patch.object(type(self.env["ir.cron"]), "_commit_progress", side_effect=dies_after_first_batch),
        ):
            # not assertRaises: it would roll back what the "committed" batch wrote
            try:
                self.env["ecrm.partner.score"]._cron_recompute()
            except WorkerDied:
                died = True
        self.assertTrue(died)
        self.env.invalidate_all()
        self.assertEqual(customers.filtered("ecrm_segment_id"), customers, "the scored customers are done")
        self.assertEqual(History.search([("partner_id", "in", customers.ids)]).partner_id, customers)
        done = partners.filtered("ecrm_segment_id")
        self.assertEqual(done, partners[:3], "the committed batch is complete, the next one not started")
        self.assertEqual(History.search([("partner_id", "in", partners.ids)]).partner_id, partners[:3])
        self.assertEqual(set(done.mapped("ecrm_stage")), {"prospect"})
        self.assertFalse(self.config.last_run_day, "the company is not done: the next run resumes it")

        with (
            patch.object(ecrm_partner_score, "SEGMENT_BATCH", batch),
            patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=1.0),
            patch.object(ResPartner, "_ecrm_notify_event", autospec=True) as notify,
        ):
            self.env["ecrm.partner.score"]._cron_recompute()
        self.env.invalidate_all()
        self.assertEqual(partners.filtered("ecrm_segment_id"), partners)
        history = History.search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(history), 6, "one history row per customer: the first batch is not repeated")
        self.assertEqual(History.search_count([("partner_id", "in", customers.ids)]), 3)
        notified = self.env["res.partner"].union(*(c.args[0] for c in notify.call_args_list))
        self.assertEqual(notified & (partners | customers), partners[3:], "events only for the resumed part")
        self.assertTrue(self.config.last_run_day)
        self.assertEqual(self.config.run_state, "idle")


@tagged("post_install", "-at_install", "ecrm")
class TestRecomputeProgressTour(HttpCase):
    def test_recompute_now_shows_progress(self):
        """A manager starts the recompute, sees it queued with its progress, a second click starts nothing."""
        cron = self.env.ref("ecrm_segments.ir_cron_ecrm_recompute")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        config = self.env["ecrm.config"]._get_for_company(self.env.company)
        config.write({"run_state": "idle", "run_progress": 0.0})
        self.start_tour("/odoo", "ecrm_segments_recompute_progress_tour", login="admin")
        self.assertEqual(config.run_state, "queued")
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), 1)
