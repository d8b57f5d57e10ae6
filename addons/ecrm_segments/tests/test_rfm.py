import re
from unittest.mock import patch

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.ecrm_segments.models.res_partner import ResPartner

from .common import EcrmCase, EcrmOrdersMixin


@tagged("post_install", "-at_install", "ecrm")
class TestRfmScores(EcrmCase, EcrmOrdersMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.config = cls.env["ecrm.config"]._get_for_company(cls.company)
        # make the scores independent from customers the database may already hold
        cls.env["sale.order"].search([("state", "=", "sale"), ("company_id", "=", cls.company.id)]).write(
            {"state": "cancel"}
        )
        cls.Partner = cls.env["res.partner"]

    def test_recency_frequency_monetary(self):
        """Scores are the exact aggregates of the confirmed orders; no orders, no score."""
        alice, bob, carol = self.Partner.create(
            [{"name": "Alice"}, {"name": "Bob"}, {"name": "Carol", "customer_rank": 1}]
        )
        self.make_order(alice, 100, days_ago=40)
        self.make_order(alice, 50, days_ago=10)
        self.make_order(bob, 300, days_ago=200)
        self.make_order(bob, 999, days_ago=1, confirm=False)  # a quotation does not count
        self.recompute()
        a, b = self.score_of(alice), self.score_of(bob)
        self.assertEqual((a.frequency, a.monetary, a.recency_days, a.aov), (2, 150.0, 10, 75.0))
        self.assertEqual((b.frequency, b.monetary, b.recency_days), (1, 300.0, 200))
        self.assertFalse(self.score_of(carol), "a customer without orders gets no score")
        self.assertEqual(carol.ecrm_stage, "prospect")
        self.assertFalse(carol.ecrm_rfm_code)
        self.assertEqual(alice.ecrm_order_total, 150.0)
        self.assertEqual(alice.ecrm_rfm_code, a.rfm_code)
        self.assertEqual(len(a.rfm_code), 3)

    def test_cancelled_orders_do_not_count(self):
        dora = self.Partner.create({"name": "Dora"})
        first = self.make_order(dora, 100, days_ago=30)
        second = self.make_order(dora, 400, days_ago=5)
        self.recompute()
        self.assertEqual(self.score_of(dora).monetary, 500.0)
        second._action_cancel()
        self.recompute()
        score = self.score_of(dora)
        self.assertEqual((score.frequency, score.monetary, score.recency_days), (1, 100.0, 30))
        first._action_cancel()
        self.recompute()
        self.assertFalse(self.score_of(dora), "no counted order left: the score row is removed")
        self.assertFalse(dora.ecrm_segment_id)
        history = self.env["ecrm.segment.history"].search([("partner_id", "=", dora.id)], order="id")
        self.assertFalse(history[-1].segment_to_id, "leaving every segment is recorded")
        self.assertEqual(history[-1].segment_from_id, history[-2].segment_to_id)
        self.assertEqual(dora.ecrm_stage, "prospect", "without counted orders she is a prospect again")
        member = self.env["ecrm.segment.member"].search([("partner_id", "=", dora.id)])
        self.assertRecordValues(member, [{"segment_id": False, "stage": "prospect"}])
        self.recompute()
        self.assertEqual(
            self.env["ecrm.segment.history"].search_count([("partner_id", "=", dora.id)]), len(history), "no move twice"
        )
        # she orders again: a score row again, her membership row goes, and the move is recorded
        self.make_order(dora, 250, days_ago=2)
        self.recompute()
        score = self.score_of(dora)
        self.assertTrue(score.segment_id)
        self.assertFalse(self.env["ecrm.segment.member"].search([("partner_id", "=", dora.id)]))
        self.assertEqual((dora.ecrm_segment_id, dora.ecrm_stage), (score.segment_id, score.stage))
        last = self.env["ecrm.segment.history"].search([("partner_id", "=", dora.id)], order="id desc", limit=1)
        self.assertRecordValues(last, [{"segment_from_id": False, "segment_to_id": score.segment_id.id}])

    def test_quintiles_ties_are_deterministic(self):
        """Equal values share a score: 1 + floor(5 x customers strictly below / customers)."""
        frequencies = [1, 1, 1, 1, 1, 2, 2, 3, 4, 5]
        partners = self.Partner.create([{"name": f"Tie {i}"} for i in range(10)])
        # create in reverse order so row order cannot explain the result
        for partner, frequency in reversed(list(zip(partners, frequencies, strict=True))):
            for k in range(frequency):
                self.make_order(partner, 10, days_ago=3 + k)
        self.recompute()
        f_scores = [self.score_of(p).f_score for p in partners]
        self.assertEqual(f_scores, [1, 1, 1, 1, 1, 3, 3, 4, 5, 5])
        # all the same amount per order: M follows frequency; same last date: one recency rank
        self.assertEqual({self.score_of(p).r_score for p in partners}, {1})
        self.recompute()
        self.assertEqual([self.score_of(p).f_score for p in partners], f_scores)

    def test_threshold_scoring(self):
        self.config.write(
            {
                "scoring_method": "threshold",
                "recency_thresholds": "10, 30, 90, 180",
                "frequency_thresholds": "2, 3, 4, 5",
                "monetary_thresholds": "100, 200, 300, 400",
            }
        )
        eve = self.Partner.create({"name": "Eve"})
        self.make_order(eve, 150, days_ago=60)
        self.make_order(eve, 100, days_ago=20)
        self.recompute()
        score = self.score_of(eve)
        self.assertEqual(
            (score.r_score, score.f_score, score.m_score, score.rfm_code),
            (4, 2, 3, "423"),
        )

    def test_bad_configuration_refused(self):
        with (
            self.assertRaisesRegex(ValidationError, "four increasing numbers"),
            self.env.cr.savepoint(),
        ):
            self.config.write({"scoring_method": "threshold", "recency_thresholds": "30, 20, 10, 5"})
        with (
            self.assertRaisesRegex(ValidationError, "New < At Risk < Churned"),
            self.env.cr.savepoint(),
        ):
            self.config.write({"at_risk_days": 500})
        with (
            self.assertRaisesRegex(ValidationError, "longer than the churn period"),
            self.env.cr.savepoint(),
        ):
            self.config.write({"window_days": 100})
        self.config.invalidate_recordset()
        self.assertEqual(
            (
                self.config.scoring_method,
                self.config.at_risk_days,
                self.config.window_days,
            ),
            ("quintile", 180, 0),
        )

    def test_window_and_teams(self):
        web, store = self.env["crm.team"].create([{"name": "Web Shop"}, {"name": "Store"}])
        fay = self.Partner.create({"name": "Fay"})
        self.make_order(fay, 100, days_ago=800, team_id=store.id)
        self.make_order(fay, 200, days_ago=5, team_id=web.id)
        self.config.window_days = 400
        self.recompute()
        self.assertEqual(self.score_of(fay).frequency, 1)
        self.config.write({"window_days": 0, "team_ids": [(6, 0, store.ids)]})
        self.recompute()
        self.assertEqual(self.score_of(fay).monetary, 100.0)

    def test_lifecycle_stages(self):
        names = ["new", "active", "at_risk", "churned", "reactivated"]
        new, active, at_risk, churned, back = self.Partner.create([{"name": n} for n in names])
        self.make_order(new, 10, days_ago=5)
        self.make_order(active, 10, days_ago=100)
        self.make_order(active, 10, days_ago=50)
        self.make_order(at_risk, 10, days_ago=200)
        self.make_order(churned, 10, days_ago=400)
        self.make_order(back, 10, days_ago=900)
        self.make_order(back, 10, days_ago=20)
        self.recompute()
        self.assertEqual([p.ecrm_stage for p in (new, active, at_risk, churned, back)], names)

    def test_rerun_is_idempotent_and_history_written_once(self):
        partners = self.Partner.create([{"name": f"Idem {i}"} for i in range(6)])
        for i, partner in enumerate(partners):
            for k in range(i + 1):
                self.make_order(partner, 20 * (i + 1), days_ago=10 * i + k)
        with patch.object(ResPartner, "_ecrm_notify_event", autospec=True) as notify:
            first = self.recompute()
        History = self.env["ecrm.segment.history"]
        history = History.search([("partner_id", "in", partners.ids)])
        self.assertEqual(len(history), 6)
        self.assertEqual(first["segment_changes"], 6)
        events = [call.args[1] for call in notify.call_args_list]
        self.assertIn("segments.segment_entered", events)
        entered = next(c for c in notify.call_args_list if c.args[1] == "segments.segment_entered")
        self.assertLessEqual(history, entered.kwargs["history"])
        scores_before = self.env["ecrm.partner.score"].search_read([("partner_id", "in", partners.ids)])
        with patch.object(ResPartner, "_ecrm_notify_event", autospec=True) as notify:
            second = self.recompute()
        self.assertEqual(
            (
                second["rows_written"],
                second["segment_changes"],
                second["stage_changes"],
            ),
            (0, 0, 0),
        )
        notify.assert_not_called()
        self.assertEqual(History.search_count([("partner_id", "in", partners.ids)]), 6)
        self.assertEqual(
            self.env["ecrm.partner.score"].search_read([("partner_id", "in", partners.ids)]),
            scores_before,
        )

    def test_segment_move_fires_exit_and_entry(self):
        gus = self.Partner.create({"name": "Gus"})
        self.make_order(gus, 10, days_ago=3)
        self.recompute()
        before = gus.ecrm_segment_id
        self.assertTrue(before)
        # an override segment for Gus moves him
        vip = self.env["ecrm.segment"].create(
            {
                "name": "VIP",
                "code": "vip_test",
                "rule_type": "domain",
                "domain": f"[('id', '=', {gus.id})]",
                "sequence": 1,
            }
        )
        with patch.object(ResPartner, "_ecrm_notify_event", autospec=True) as notify:
            self.recompute()
        self.assertEqual(gus.ecrm_segment_id, vip)
        self.assertEqual(self.score_of(gus).rfm_segment_id, before, "the RFM segment is still known")
        calls = {c.args[1]: c.kwargs["history"] for c in notify.call_args_list}
        self.assertEqual(calls["segments.segment_exited"].segment_from_id, before)
        self.assertEqual(calls["segments.segment_entered"].segment_to_id, vip)

    def test_cron_resumable_and_idempotent(self):
        hal = self.Partner.create({"name": "Hal"})
        self.make_order(hal, 80, days_ago=2)
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=1.0) as progress:
            self.env["ecrm.partner.score"]._cron_recompute()
        self.assertTrue(progress.called)
        self.assertTrue(self.score_of(hal))
        self.assertTrue(self.config.last_run_day)
        count = self.env["ecrm.segment.history"].search_count([])
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=1.0) as progress:
            self.env["ecrm.partner.score"]._cron_recompute()
        # every company is done for today: nothing left, nothing written
        progress.assert_called_once_with(remaining=0)
        self.assertEqual(self.env["ecrm.segment.history"].search_count([]), count)

    def test_access_rights(self):
        with self.assertRaises(AccessError):
            self.env["ecrm.partner.score"].with_user(self.ecrm_user).recompute()
        with self.assertRaises(AccessError):
            self.config.with_user(self.ecrm_user).write({"window_days": 0})
        with self.assertRaises(AccessError):
            self.env["ecrm.partner.score"].with_user(self.plain_user).search([])
        ivy = self.Partner.create({"name": "Ivy"})
        self.make_order(ivy, 80, days_ago=2)
        self.env["ecrm.partner.score"].with_user(self.ecrm_manager).recompute()
        score = self.env["ecrm.partner.score"].with_user(self.ecrm_user).search([("partner_id", "=", ivy.id)])
        self.assertEqual(score.monetary, 80.0)
        with self.assertRaises(AccessError):
            score.write({"monetary": 1.0})

    def test_confirming_an_order_adds_no_recompute_work(self):
        """Confirmation costs the same queries for a scored customer as for a new one, and touches no eCRM table."""
        scored, fresh = self.Partner.create([{"name": "Scored"}, {"name": "Fresh"}])
        self.make_order(scored, 10, days_ago=3)
        self.recompute()
        warmup = self.make_order(scored, 10, confirm=False)
        warmup.action_confirm()
        order_scored = self.make_order(scored, 10, confirm=False)
        order_fresh = self.make_order(fresh, 10, confirm=False)
        self.env.flush_all()
        self.env.invalidate_all()
        queries = []
        execute = type(self.env.cr).execute

        def spy(cr, query, params=None, log_exceptions=True):
            queries.append(str(query.code if hasattr(query, "code") else query))
            return execute(cr, query, params, log_exceptions)

        with patch.object(type(self.env.cr), "execute", spy):
            order_fresh.action_confirm()
            self.env.flush_all()
        count = len(queries)
        segment_tables = re.compile(
            r'\b(FROM|JOIN|INTO|UPDATE)\s+"?(ecrm_partner_score|ecrm_segment\w*|ecrm_tag_rule\w*)\b'
        )
        self.assertFalse(
            [q for q in queries if segment_tables.search(q)],
            "confirmation must not touch the segments' tables",
        )
        self.env.invalidate_all()
        with self.assertQueryCount(count):
            order_scored.action_confirm()
            self.env.flush_all()

    def test_cron_skips_a_company_with_broken_rules_and_says_why(self):
        kim = self.Partner.create({"name": "Kim"})
        self.make_order(kim, 80, days_ago=2)
        self.env.ref("ecrm_segments.segment_champions").active = False
        logger = "odoo.addons.ecrm_segments.models.ecrm_partner_score"
        with (
            patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=1.0),
            self.assertLogs(logger, "WARNING") as logs,
        ):
            self.env["ecrm.partner.score"]._cron_recompute()
        self.assertIn("No RFM segment covers", logs.output[0])
        self.assertIn("No RFM segment covers R=5 F=4", self.config.last_run_error)
        self.assertFalse(self.score_of(kim))
        self.assertEqual(self.config.run_state, "idle")

    def test_only_own_companies(self):
        other = self.env["res.company"].create({"name": "Not Mine"})
        with self.assertRaisesRegex(AccessError, "companies you work in"):
            self.env["ecrm.partner.score"].with_user(self.ecrm_manager).recompute(company_ids=other.ids)
