from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import freeze_time

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyTiers(EcrmLoyaltyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Tag = cls.env["res.partner.category"]
        cls.vip_pricelist = cls.env["product.pricelist"].create({"name": "VIP prices"})
        cls.silver = cls.env["ecrm.loyalty.tier"].create(
            {
                "name": "T-Silver",
                "threshold": 500,
                "multiplier": 1.0,
                "category_id": Tag.create({"name": "T-Silver"}).id,
            }
        )
        cls.gold = cls.env["ecrm.loyalty.tier"].create(
            {
                "name": "T-Gold",
                "threshold": 2000,
                "multiplier": 1.5,
                "category_id": Tag.create({"name": "T-Gold"}).id,
                "pricelist_id": cls.vip_pricelist.id,
            }
        )
        cls.env.company.write({"ecrm_tier_basis": "spend", "ecrm_tier_window_days": 365, "ecrm_tier_grace_days": 30})

    def test_upgrade_at_once(self):
        Partner = type(self.env["res.partner"])
        with patch.object(Partner, "_ecrm_notify_event", autospec=True) as notify:
            self._confirmed_order(qty=4)
            self.assertFalse(self.customer.ecrm_tier_id)
            self._confirmed_order(qty=2)
            self.assertEqual(self.customer.ecrm_tier_id, self.silver)
            self.assertIn(self.silver.category_id, self.customer.category_id)
            self._confirmed_order(qty=15)
        self.assertEqual(self.customer.ecrm_tier_id, self.gold)
        self.assertNotIn(self.silver.category_id, self.customer.category_id)
        self.assertIn(self.gold.category_id, self.customer.category_id)
        self.assertEqual(self.customer.property_product_pricelist, self.vip_pricelist)
        events = [(call.args[1], call.kwargs["tier_from"], call.kwargs["tier_to"]) for call in notify.call_args_list]
        self.assertEqual(
            events,
            [
                ("loyalty.tier_changed", self.env["ecrm.loyalty.tier"], self.silver),
                ("loyalty.tier_changed", self.silver, self.gold),
            ],
        )
        history = self.customer.ecrm_tier_history_ids.sorted("id")
        self.assertEqual(history.mapped("direction"), ["up", "up"])
        self.assertEqual(history.tier_to_id, self.silver | self.gold)
        # the Gold multiplier applies to the next order
        order = self._confirmed_order(qty=1)
        self.assertEqual(order.ecrm_loyalty_line_ids.points, 150)

    def test_downgrade_at_review_after_grace(self):
        with freeze_time("2025-01-10"):
            self._confirmed_order(qty=25)
        self.assertEqual(self.customer.ecrm_tier_id, self.gold)
        with freeze_time("2025-12-01"):
            self.run_cron(self.env["res.partner"]._cron_review_tiers)
        self.assertEqual(self.customer.ecrm_tier_id, self.gold, "still inside the window")
        self.assertFalse(self.customer.ecrm_tier_grace_until)
        with freeze_time("2026-02-01"):
            self._confirmed_order(qty=6)
            self.assertEqual(self.customer.ecrm_tier_id, self.gold, "a confirmation never downgrades")
            self.run_cron(self.env["res.partner"]._cron_review_tiers)
        self.assertEqual(self.customer.ecrm_tier_id, self.gold, "kept during the grace period")
        self.assertEqual(self.customer.ecrm_tier_grace_until, fields.Date.to_date("2026-03-03"))
        with freeze_time("2026-03-04"):
            self.run_cron(self.env["res.partner"]._cron_review_tiers)
        self.assertEqual(self.customer.ecrm_tier_id, self.silver, "600 spent in the window: Silver")
        self.assertIn(self.silver.category_id, self.customer.category_id)
        self.assertNotIn(self.gold.category_id, self.customer.category_id)
        last = self.customer.ecrm_tier_history_ids.sorted("id")[-1]
        self.assertRecordValues(
            last, [{"tier_from_id": self.gold.id, "tier_to_id": self.silver.id, "direction": "down"}]
        )

    def test_requalifying_clears_grace(self):
        with freeze_time("2025-01-10"):
            self._confirmed_order(qty=25)
        with freeze_time("2026-02-01"):
            self.run_cron(self.env["res.partner"]._cron_review_tiers)
        self.assertTrue(self.customer.ecrm_tier_grace_until)
        with freeze_time("2026-02-10"):
            self._confirmed_order(qty=21)
            self.run_cron(self.env["res.partner"]._cron_review_tiers)
        self.assertEqual(self.customer.ecrm_tier_id, self.gold)
        self.assertFalse(self.customer.ecrm_tier_grace_until)

    def test_tier_by_points(self):
        self.env.company.ecrm_tier_basis = "points"
        self.silver.threshold = 300
        self._confirmed_order(qty=3)
        self.assertEqual(self.customer.ecrm_tier_id, self.silver)
