import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyReversal(EcrmLoyaltyCase):
    def _kinds(self, order):
        return {
            kind: sum(order.ecrm_loyalty_line_ids.filtered(lambda line, kind=kind: line.kind == kind).mapped("points"))
            for kind in ("earn", "redeem", "reverse")
        }

    def test_cancel_reverses_earned_points(self):
        order = self._confirmed_order(qty=3)
        self.assertEqual(self.card.points, 300)
        order._action_cancel()
        self.assertEqual(order.state, "cancel")
        self.assertEqual(self.card.points, 0)
        reverse = order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "reverse")
        self.assertRecordValues(reverse, [{"points": -300, "reversal_key": "cancel", "shortfall_points": 0}])
        self.assertEqual(reverse.reversed_line_id.kind, "earn")
        self.assertEqual(reverse.lot_id.remaining, 0)
        self.assertBalanced()

    def test_cancel_restores_spent_points(self):
        self._give_points(250)
        order = self._order_with_reward()
        order.action_confirm()
        self.assertEqual(self.card.points, 250 - 200 + self._kinds(order)["earn"])
        order._action_cancel()
        self.assertEqual(self.card.points, 250, "the reward's points come back, the earned ones go")
        self.assertBalanced()

    def test_partial_then_full_credit_note(self):
        order = self._confirmed_order(qty=4)
        invoice = self._invoice(order)
        sale_line = order.order_line
        self._refund(invoice, {sale_line.id: 1})
        self.assertEqual(self.card.points, 300, "a quarter of the order was refunded")
        self._refund(invoice, {sale_line.id: 3})
        self.assertEqual(self.card.points, 0)
        reversals = order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "reverse")
        self.assertEqual(sorted(reversals.mapped("points")), [-300, -100])
        self.assertEqual(len(set(reversals.mapped("reversal_key"))), 2)
        self.assertTrue(all(key.startswith("move:") for key in reversals.mapped("reversal_key")))
        # cancelling afterwards has nothing left to reverse
        order._action_cancel()
        self.assertEqual(len(order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "reverse")), 2)
        self.assertBalanced()

    def test_full_credit_note_returns_reward_points(self):
        self._give_points(200)
        order = self._order_with_reward()
        order.action_confirm()
        invoice = self._invoice(order)
        self._refund(invoice)
        kinds = self._kinds(order)
        self.assertEqual(kinds["reverse"], 200 - kinds["earn"])
        self.assertEqual(self.card.points, 200)
        self.assertBalanced()

    def test_double_reversal_refused_by_database(self):
        order = self._confirmed_order(qty=2)
        earn = order.ecrm_loyalty_line_ids
        self.Ledger._ecrm_reverse([{"line": earn, "points": 50, "key": "manual-test"}])
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self.Ledger._ecrm_reverse([{"line": earn, "points": 50, "key": "manual-test"}])
            self.env.flush_all()
        # reversing the same order twice through the business flow never goes beyond what it earned
        order._ecrm_loyalty_reverse({order: 1.0}, {order: 1.0}, "cancel")
        order._ecrm_loyalty_reverse({order: 1.0}, {order: 1.0}, "again")
        self.assertEqual(self.card.points, 0)
        self.assertBalanced()

    def test_spent_points_cap_policy(self):
        self.program.ecrm_reversal_policy = "cap"
        order = self._confirmed_order(qty=3)
        self.card.ecrm_redeem(250, "Spent at once")
        order._action_cancel()
        self.assertEqual(self.card.points, 0)
        reverse = order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "reverse")
        self.assertRecordValues(reverse, [{"points": -50, "shortfall_points": 250}])
        self.assertBalanced()

    def test_spent_points_negative_policy(self):
        self.program.ecrm_reversal_policy = "negative"
        order = self._confirmed_order(qty=3)
        self.card.ecrm_redeem(250, "Spent at once")
        order._action_cancel()
        self.assertEqual(self.card.points, -250)
        self.assertBalanced()
