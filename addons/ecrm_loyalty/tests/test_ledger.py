import psycopg2

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tests.common import freeze_time
from odoo.tools import mute_logger

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyLedger(EcrmLoyaltyCase):
    def test_earn_on_confirmation(self):
        """Confirming an order writes one earn line and one lot; the card equals the ledger."""
        order = self._order(qty=3)
        self.assertFalse(order.ecrm_loyalty_line_ids)
        order.action_confirm()
        earned = order.coupon_point_ids.filtered(lambda pe: pe.coupon_id == self.card).points
        self.assertEqual(earned, 300)
        line = order.ecrm_loyalty_line_ids
        self.assertRecordValues(
            line,
            [
                {
                    "kind": "earn",
                    "points": 300,
                    "pending_points": 0,
                    "card_id": self.card.id,
                    "partner_id": self.customer.id,
                }
            ],
        )
        self.assertAlmostEqual(line.value, 3.0)
        self.assertEqual(line.lot_id.remaining, 300)
        self.assertEqual(line.expiry_date, line.lot_id.expiry_date)
        self.assertTrue(line.expiry_date)
        self.assertEqual(self.card.points, 300)
        self.assertBalanced()
        # Odoo's own history still works
        self.assertEqual(self.card.history_ids.issued, 300)
        # the customer's balance, as campaign templates and the RPC API read it
        self.assertEqual(self.customer.with_user(self.loyalty_user).ecrm_points_balance, 300)
        self.program.action_archive()
        self.customer.invalidate_recordset(["ecrm_points_balance"])
        self.assertEqual(self.customer.ecrm_points_balance, 0)

    def test_earn_creates_card_for_new_customer(self):
        partner = self.env["res.partner"].create({"name": "New Customer"})
        order = self._confirmed_order(partner, qty=2)
        card = self.env["loyalty.card"].search([("partner_id", "=", partner.id), ("program_id", "=", self.program.id)])
        self.assertEqual(card.points, 200)
        self.assertEqual(order.ecrm_loyalty_line_ids.card_id, card)
        self.assertBalanced(card)

    def test_append_only(self):
        self._confirmed_order()
        line = self.card.ecrm_ledger_ids
        with self.assertRaisesRegex(UserError, "append-only"):
            line.write({"points": 1000})
        with self.assertRaisesRegex(UserError, "append-only"):
            line.unlink()
        with self.assertRaises(AccessError):
            self.Ledger.create({"kind": "earn", "card_id": self.card.id, "points": 5})
        # even SQL cannot change it
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.Error),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute("UPDATE ecrm_loyalty_ledger SET points = 1000 WHERE id = %s", [line.id])
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.Error),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute("DELETE FROM ecrm_loyalty_ledger WHERE id = %s", [line.id])
        self.assertEqual(line.points, 100)

    def test_database_constraints(self):
        vals = self.Ledger._ecrm_line_vals(self.card, "adjust", points=5)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.Error),
            self.env.cr.savepoint(),
        ):
            self.Ledger.with_context(ecrm_ledger_engine=True).create(vals)
        vals = self.Ledger._ecrm_line_vals(self.card, "earn", points=-5)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.Error),
            self.env.cr.savepoint(),
        ):
            self.Ledger.with_context(ecrm_ledger_engine=True).create(vals)
        vals = self.Ledger._ecrm_line_vals(self.card, "redeem", points=5)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.Error),
            self.env.cr.savepoint(),
        ):
            self.Ledger.with_context(ecrm_ledger_engine=True).create(vals)

    def test_balance_check_detects_drift(self):
        self._confirmed_order()
        self.assertBalanced()
        self.env.cr.execute("UPDATE loyalty_card SET points = points + 7 WHERE id = %s", [self.card.id])
        self.card.invalidate_recordset(["points"])
        drift = self.Ledger._ecrm_check_balances(self.card)
        self.assertEqual(drift, [(self.card.id, 107.0, 100.0)])

    def test_pending_until_return_window(self):
        self.program.write({"ecrm_pending_mode": "return_window", "ecrm_return_window_days": 14})
        with freeze_time("2026-03-01"):
            order = self._confirmed_order(qty=2)
        line = order.ecrm_loyalty_line_ids
        self.assertRecordValues(line, [{"kind": "earn", "points": 0, "pending_points": 200}])
        self.assertEqual(self.card.points, 0)
        self.assertEqual(self.card.ecrm_pending_points, 200)
        with freeze_time("2026-03-10"):
            self.run_cron(self.Lot._cron_release_pending)
        self.assertEqual(self.card.points, 0, "still inside the return window")
        with freeze_time("2026-03-16"):
            self.run_cron(self.Lot._cron_release_pending)
            self.run_cron(self.Lot._cron_release_pending)  # idempotent
        self.assertEqual(self.card.points, 200)
        self.assertEqual(self.card.ecrm_pending_points, 0)
        release = self.card.ecrm_ledger_ids.filtered(lambda line: line.kind == "release")
        self.assertRecordValues(release, [{"points": 200, "pending_points": -200, "value": 0}])
        self.assertBalanced()

    def test_pending_until_paid(self):
        self.program.ecrm_pending_mode = "payment"
        order = self._confirmed_order(qty=1)
        invoice = self._invoice(order)
        self.run_cron(self.Lot._cron_release_pending)
        self.assertEqual(self.card.points, 0, "not paid yet")
        self.env["account.payment.register"].with_context(active_model="account.move", active_ids=invoice.ids).create(
            {}
        )._create_payments()
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.run_cron(self.Lot._cron_release_pending)
        self.assertEqual(self.card.points, 100)
        self.assertBalanced()

    def test_first_order_and_birthday_bonus(self):
        self.program.write({"ecrm_first_order_bonus": 50, "ecrm_birthday_bonus": 20})
        self.customer.ecrm_birthday = "1990-05-17"
        with freeze_time("2026-04-02"):
            first = self._confirmed_order()
            second = self._confirmed_order()
        with freeze_time("2026-05-03"):
            birthday = self._confirmed_order()
        self.assertEqual(first.ecrm_loyalty_line_ids.points, 150)
        self.assertEqual(second.ecrm_loyalty_line_ids.points, 100)
        self.assertEqual(birthday.ecrm_loyalty_line_ids.points, 120)
        self.assertEqual(self.card.points, 370)
        self.assertBalanced()

    def test_tier_multiplier(self):
        gold = self.env["ecrm.loyalty.tier"].create({"name": "Test Gold", "threshold": 1e9, "multiplier": 1.5})
        self.customer.sudo().ecrm_tier_id = gold
        order = self._confirmed_order(qty=2)
        self.assertRecordValues(order.ecrm_loyalty_line_ids, [{"points": 300, "tier_id": gold.id}])

    def test_adjust_by_manager(self):
        card = self.card.with_user(self.loyalty_manager)
        result = card.ecrm_adjust(40, "Apology for a late delivery")
        self.assertEqual(result["points"], 40)
        result = card.ecrm_adjust(-15, "Correction")
        self.assertEqual(result["points"], 25)
        lines = self.card.ecrm_ledger_ids.sorted("id")
        self.assertEqual(lines.mapped("kind"), ["adjust", "adjust"])
        self.assertEqual(lines.mapped("reason"), ["Apology for a late delivery", "Correction"])
        self.assertEqual(lines[0].lot_id.remaining, 25, "the removal took the points from the lot")
        self.assertBalanced()

    def test_odoo_update_balance_wizard_is_an_adjustment(self):
        wizard = self.env["loyalty.card.update.balance"].create(
            {"card_id": self.card.id, "new_balance": 60, "description": "Goodwill"}
        )
        wizard.action_update_card_point()
        self.assertEqual(self.card.points, 60)
        self.assertRecordValues(
            self.card.ecrm_ledger_ids,
            [{"kind": "adjust", "points": 60, "reason": "Goodwill"}],
        )
        self.assertBalanced()

    def test_card_created_with_points_opens_ledger(self):
        partner = self.env["res.partner"].create({"name": "Imported"})
        card = self.env["loyalty.card"].create({"program_id": self.program.id, "partner_id": partner.id, "points": 75})
        self.assertRecordValues(card.ecrm_ledger_ids, [{"kind": "adjust", "points": 75}])
        self.assertBalanced(card)

    def test_bad_input_refused_nothing_changed(self):
        self._give_points(500)
        before = (self.card.points, len(self.card.ecrm_ledger_ids))
        with self.assertRaisesRegex(UserError, "must be positive"):
            self.card.ecrm_redeem(-10)
        with self.assertRaisesRegex(UserError, "must be positive"):
            self.card.ecrm_redeem(0)
        with self.assertRaisesRegex(UserError, "500.0 points available"):
            self.card.ecrm_redeem(501)
        with self.assertRaisesRegex(UserError, "needs a reason"):
            self.card.ecrm_adjust(10, "  ")
        with self.assertRaisesRegex(UserError, "500.0 points available"):
            self.card.ecrm_adjust(-600, "Too much")
        with self.assertRaises(AccessError):
            self.card.with_user(self.loyalty_user).ecrm_adjust(10, "No rights")
        with self.assertRaises(AccessError):
            self.card.with_user(self.salesman).write({"points": 10000})
        self.card.expiration_date = "2020-01-01"
        with self.assertRaisesRegex(UserError, "has expired"):
            self.card.ecrm_redeem(10)
        self.card.expiration_date = False
        self.card.action_archive()
        with self.assertRaisesRegex(UserError, "archived"):
            self.card.ecrm_redeem(10)
        self.card.action_unarchive()
        self.assertEqual((self.card.points, len(self.card.ecrm_ledger_ids)), before)
        self.assertBalanced()
