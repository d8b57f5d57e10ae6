import psycopg2.errors

from odoo import api
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import freeze_time
from odoo.tools import mute_logger

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyRedeem(EcrmLoyaltyCase):
    def test_redeem_as_order_discount(self):
        self._give_points(350)
        order = self._order_with_reward(qty=2)
        reward_line = order.order_line.filtered("is_reward_line")
        self.assertEqual(reward_line.points_cost, 300, "Odoo spends points by hundreds")
        self.assertEqual(self.card.points, 350, "nothing spent before confirmation")
        order.action_confirm()
        redeem = order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "redeem")
        earn = order.ecrm_loyalty_line_ids.filtered(lambda line: line.kind == "earn")
        self.assertEqual(sum(redeem.mapped("points")), -300)
        self.assertAlmostEqual(sum(redeem.mapped("value")), -3.0)
        self.assertEqual(self.card.points, 350 - 300 + earn.points)
        self.assertBalanced()

    def test_soonest_expiring_points_first(self):
        with freeze_time("2025-06-01"):
            old = self._give_points(100, reason="Old gift")
        with freeze_time("2026-01-10"):
            new = self._give_points(100, reason="New gift")
            result = self.card.ecrm_redeem(150, "Gift shop")
        old_lot = self.Ledger.browse(old["line_ids"]).lot_id
        new_lot = self.Ledger.browse(new["line_ids"]).lot_id
        self.assertEqual(old_lot.remaining, 0)
        self.assertEqual(new_lot.remaining, 50)
        lines = self.Ledger.browse(result["line_ids"])
        self.assertEqual(len(lines), 2, "one redeem line per lot touched")
        self.assertEqual(lines.mapped("lot_id"), old_lot | new_lot)
        self.assertEqual(result["points"], 50)
        self.assertBalanced()

    def test_convert_to_coupon(self):
        coupon_program = self.env["loyalty.program"].create(
            {
                "name": "Tea Club Vouchers",
                "program_type": "coupons",
                "trigger": "with_code",
                "reward_ids": [
                    (
                        0,
                        0,
                        {
                            "reward_type": "discount",
                            "discount_mode": "per_point",
                            "discount": 1,
                            "required_points": 1,
                        },
                    )
                ],
            }
        )
        self.program.ecrm_coupon_program_id = coupon_program
        self._give_points(1000)
        result = self.card.ecrm_convert_to_coupon(500)
        coupon = self.env["loyalty.card"].browse(result["coupon_id"])
        self.assertEqual(coupon.program_id, coupon_program)
        self.assertEqual(coupon.points, 5.0, "500 points of 0.01 make a coupon worth 5")
        self.assertEqual(result["points"], 500)
        self.assertEqual(self.Ledger.browse(result["line_ids"]).coupon_id, coupon)
        self.assertBalanced(self.card)
        with self.assertRaisesRegex(UserError, "500.0 points available"):
            self.card.ecrm_convert_to_coupon(501)

    def test_bulk_confirmation_cannot_overspend(self):
        """Odoo checks each order alone: two orders spending the same points in one call are refused."""
        self._give_points(200)
        first = self._order_with_reward()
        second = self._order_with_reward()
        self.assertEqual(first.order_line.filtered("is_reward_line").points_cost, 200)
        self.assertEqual(second.order_line.filtered("is_reward_line").points_cost, 200)
        with self.assertRaisesRegex(UserError, "200.0 points available, 400.0 cannot be spent"):
            (first | second).action_confirm()
        self.assertEqual(self.card.points, 200)
        self.assertFalse(self.card.ecrm_ledger_ids.filtered(lambda line: line.kind == "redeem"))
        self.assertBalanced()


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyConcurrentRedeem(EcrmLoyaltyCase):
    """Two transactions redeeming the same card: the second waits on the card's row lock and then
    sees the new balance. Runs on separate committed cursors, cleaned up afterwards."""

    def _setup_committed_card(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {"tracking_disable": True})
            program = env["loyalty.program"].create(
                {
                    "name": "Concurrent Club",
                    "program_type": "loyalty",
                    "trigger": "auto",
                    "applies_on": "future",
                }
            )
            partner = env["res.partner"].create({"name": "Concurrent Customer"})
            card = env["loyalty.card"].create({"program_id": program.id, "partner_id": partner.id})
            card.ecrm_adjust(100, "Opening")
            ids = (program.id, partner.id, card.id)
        self.addCleanup(self._cleanup, *ids)
        return ids

    def _cleanup(self, program_id, partner_id, card_id):
        with self.registry.cursor() as cr:
            cr.execute("SET LOCAL ecrm_loyalty.ledger_maintenance = 'on'")
            cr.execute("DELETE FROM ecrm_loyalty_ledger WHERE card_id = %s", [card_id])
            cr.execute("DELETE FROM ecrm_loyalty_lot WHERE card_id = %s", [card_id])
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["loyalty.card"].browse(card_id).unlink()
            env["loyalty.program"].browse(program_id).action_archive()
            env["loyalty.program"].browse(program_id).unlink()
            env["res.partner"].browse(partner_id).unlink()

    @mute_logger("odoo.sql_db")
    def test_concurrent_redemptions(self):
        _program_id, _partner_id, card_id = self._setup_committed_card()
        with self.registry.cursor() as cr1, self.registry.cursor() as cr2:
            env1 = api.Environment(cr1, api.SUPERUSER_ID, {})
            env2 = api.Environment(cr2, api.SUPERUSER_ID, {})
            env1["loyalty.card"].browse(card_id).ecrm_redeem(80, "Till 1")
            # the second till waits for the first one's lock (a short timeout makes the wait visible)
            cr2.execute("SET lock_timeout = '300ms'")
            with self.assertRaises(psycopg2.errors.LockNotAvailable):
                env2["loyalty.card"].browse(card_id).ecrm_redeem(80, "Till 2")
            cr2.rollback()
            cr1.commit()
            env2.invalidate_all()
            with self.assertRaisesRegex(UserError, "20.0 points available"):
                env2["loyalty.card"].browse(card_id).ecrm_redeem(80, "Till 2")
            cr2.rollback()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            card = env["loyalty.card"].browse(card_id)
            self.assertEqual(card.points, 20)
            self.assertEqual(card.ecrm_ledger_ids.mapped("kind").count("redeem"), 1)
            self.assertEqual(env["ecrm.loyalty.ledger"]._ecrm_check_balances(card), [])


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyAsSalesman(EcrmLoyaltyCase):
    def test_salesman_confirms_redeems_and_cancels(self):
        """A salesperson without any loyalty group confirms and cancels orders: the ledger follows."""
        self._give_points(300)
        order = self._order_with_reward()
        order.user_id = self.salesman
        order.with_user(self.salesman).action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(set(order.ecrm_loyalty_line_ids.mapped("kind")), {"earn", "redeem"})
        # Odoo itself lets only sales managers cancel orders that gave loyalty points
        sale_manager = new_test_user(self.env, login="loyalty_sale_manager", groups="sales_team.group_sale_manager")
        order.with_user(sale_manager).action_cancel()
        self.assertEqual(self.card.points, 300)
        self.assertBalanced()
