from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import freeze_time

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyExpiry(EcrmLoyaltyCase):
    def test_expire_lots_after_period(self):
        self.program.ecrm_expiry_months = 6
        with freeze_time("2026-01-15"):
            first = self._confirmed_order(qty=2)
        with freeze_time("2026-04-01"):
            self._confirmed_order(qty=1)
            self.card.ecrm_redeem(50, "Shop")
        lot = first.ecrm_loyalty_line_ids.lot_id
        self.assertEqual(lot.expiry_date, fields.Date.to_date("2026-07-15"))
        self.assertEqual(lot.remaining, 150, "the redemption took the soonest-expiring lot")
        with freeze_time("2026-07-15"):
            self.run_cron(self.Lot._cron_expire)
        self.assertEqual(self.card.points, 250, "nothing expires on the expiry date itself")
        with freeze_time("2026-07-16"):
            calls = self.run_cron(self.Lot._cron_expire)
            self.run_cron(self.Lot._cron_expire)  # idempotent: a second run finds nothing
        self.assertEqual(calls[0], (0, 1))
        self.assertEqual(self.card.points, 100)
        self.assertEqual(lot.state, "expired")
        expire = self.card.ecrm_ledger_ids.filtered(lambda line: line.kind == "expire")
        self.assertRecordValues(expire, [{"points": -150, "lot_id": lot.id, "date": fields.Date.to_date("2026-07-16")}])
        self.assertAlmostEqual(expire.value, -1.5)
        self.assertBalanced()

    def test_expiry_resumes_after_timeout(self):
        self.program.ecrm_expiry_months = 1
        customers = self.env["res.partner"].create([{"name": f"Customer {i}"} for i in range(5)])
        with freeze_time("2026-01-01"):
            for customer in customers:
                self._confirmed_order(customer)
        cards = self.env["loyalty.card"].search([("partner_id", "in", customers.ids)])
        self.assertEqual(sum(cards.mapped("points")), 500)
        with freeze_time("2026-03-01"):
            calls = self.run_cron(self.Lot._cron_expire, batch_size=2, batches=1)
            self.assertEqual(calls, [(0, 5), (2, None)], "the run stopped after its first batch")
            self.assertEqual(sum(cards.mapped("points")), 300)
            calls = self.run_cron(self.Lot._cron_expire, batch_size=2)
            self.assertEqual(calls, [(0, 3), (2, None), (1, None)])
        self.assertEqual(sum(cards.mapped("points")), 0)
        self.assertBalanced(cards)

    def test_expiring_event_once_per_lot(self):
        self.program.write({"ecrm_expiry_months": 3, "ecrm_expiring_notice_days": 10})
        with freeze_time("2026-01-10"):
            self._confirmed_order(qty=2)
        Partner = type(self.env["res.partner"])
        with patch.object(Partner, "_ecrm_notify_event", autospec=True) as notify:
            with freeze_time("2026-03-25"):
                self.run_cron(self.Lot._cron_notify_expiring)
            notify.assert_not_called()
            with freeze_time("2026-04-01"):
                self.run_cron(self.Lot._cron_notify_expiring)
                self.run_cron(self.Lot._cron_notify_expiring)
            self.assertEqual(notify.call_count, 1)
            partner, event = notify.call_args.args
            self.assertEqual(partner, self.customer)
            self.assertEqual(event, "loyalty.points_expiring")
            self.assertEqual(notify.call_args.kwargs["points"], 200)
            self.assertEqual(notify.call_args.kwargs["expiry_date"], fields.Date.to_date("2026-04-10"))
        with freeze_time("2026-04-01"):
            self.assertEqual(self.card.ecrm_expiring_points, 200)
            self.assertEqual(self.card.ecrm_next_expiry_date, fields.Date.to_date("2026-04-10"))

    def test_reversal_after_expiry(self):
        """Cancelling an order whose lots expired: spent points come back already expired, earned
        points that expired are not taken a second time."""
        self.program.ecrm_expiry_months = 1
        with freeze_time("2026-01-01"):
            self._give_points(350)
            order = self._order_with_reward()
            order.action_confirm()
        self.assertEqual(
            sum(order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "redeem").mapped("points")), -300
        )
        with freeze_time("2026-03-01"):
            self.run_cron(self.Lot._cron_expire)
            self.assertEqual(self.card.points, 0, "the gift's last 50 points and the order's points expired")
            order._action_cancel()
            self.assertEqual(self.card.points, 0)
            restored = order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "reverse")
            self.assertEqual(restored.mapped("points"), [300], "the expired earn is not reversed again")
            expired_again = self.card.ecrm_ledger_ids.filtered(
                lambda line: line.kind == "expire" and line.points == -300
            )
            self.assertEqual(expired_again.lot_id, restored.lot_id)
            self.run_cron(self.Lot._cron_expire)
        self.assertEqual(self.card.points, 0)
        self.assertBalanced()
