import math
from datetime import date, timedelta

import numpy as np

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.ecrm_segments.models.ecrm_analysis_trend import forecast_series

from .common import EcrmCase
from .test_analysis_kpi import AnalysisDataMixin


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisTrend(EcrmCase, AnalysisDataMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "in", ("sale", "draft", "sent"))]).write({"state": "cancel"})
        cls.ana, cls.bo = cls.env["res.partner"].create([{"name": "Trend Ana"}, {"name": "Trend Bo"}])
        # 2026: 1 order in January, 2 in February (one on Monday 2 Feb), none in March, 3 in April
        for partner, amount, day in [
            (cls.ana, 100, "2026-01-14"),
            (cls.ana, 50, "2026-02-02"),
            (cls.bo, 25, "2026-02-06"),
            (cls.bo, 10, "2026-04-01"),
            (cls.bo, 20, "2026-04-02"),
            (cls.ana, 30, "2026-04-30"),
        ]:
            cls.order_on(partner, amount, day)
        cls.order_on(cls.bo, 999, "2026-02-10").action_cancel()
        cls.Trend = cls.env["ecrm.analysis.trend"].with_user(cls.ecrm_user)

    def test_monthly_and_weekly_series(self):
        result = self.Trend.get_trends("2026-01-01", "2026-04-30", grain="month", horizon=2)
        self.assertEqual(result["periods"], ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"])
        self.assertEqual(result["orders"], [1, 2, 0, 3])
        self.assertEqual(result["revenue"], [100.0, 75.0, 0.0, 60.0])
        self.assertEqual(result["forecast"]["periods"], ["2026-05-01", "2026-06-01"])
        self.assertEqual(result["forecast"]["orders"]["mean"], [], "4 months are too few to forecast")
        self.assertEqual(
            [sum(values) for values in zip(*(s["revenue"] for s in result["segments"]), strict=True)],
            result["revenue"],
        )
        weekly = self.Trend.get_trends("2026-01-26", "2026-02-15", grain="week", horizon=1)
        self.assertEqual(weekly["periods"], ["2026-01-26", "2026-02-02", "2026-02-09"])
        self.assertEqual(weekly["orders"], [0, 2, 0])
        self.assertEqual(weekly["revenue"], [0.0, 75.0, 0.0])

    def test_segment_series(self):
        self.env["ecrm.partner.score"].recompute()
        segment = self.score_of(self.bo).segment_id
        result = self.Trend.get_trends("2026-01-01", "2026-04-30", segment_id=segment.id)
        [row] = [s for s in result["segments"] if s["segment_id"] == segment.id]
        self.assertEqual(result["series"]["orders"], row["orders"])
        self.assertGreaterEqual(row["orders"][3], 2, "Bo's two April orders are in his segment")

    def test_forecast_backtest_on_seasonal_series(self):
        """Four years of a monthly series with a trend and a yearly season plus 2% noise:
        the model finds the season and forecasts the last six months within a few percent."""
        rng = np.random.default_rng(7)
        months = np.arange(48)
        truth = 1000 + 10 * months + 300 * np.sin(2 * math.pi * months / 12)
        series = truth * (1 + rng.normal(0, 0.02, len(months)))
        result = forecast_series(series, horizon=6, season_length=12, holdout=6)
        self.assertTrue(result["seasonal"])
        self.assertEqual(result["holdout"], 6)
        self.assertLess(result["mape"], 0.05)
        future = 1000 + 10 * np.arange(48, 54) + 300 * np.sin(2 * math.pi * np.arange(48, 54) / 12)
        mean, lower, upper = (np.array(result[k]) for k in ("mean", "lower", "upper"))
        self.assertLess(np.mean(np.abs(mean - future) / future), 0.06)
        self.assertTrue((lower < mean).all() and (mean < upper).all())
        self.assertTrue(((lower <= future) & (future <= upper)).sum() >= 5, "95% intervals hold the truth")
        # the same series without its season: no seasonal model with fewer than two years
        short = forecast_series(series[:20], horizon=3, season_length=12)
        self.assertFalse(short["seasonal"])
        self.assertEqual(len(short["mean"]), 3)

    def test_forecast_through_the_api(self):
        """Two years of weekly orders: one order a week, two in every fourth week."""
        partners = self.env["res.partner"].create([{"name": f"Weekly {i}"} for i in range(2)])
        monday = date(2024, 1, 1)
        for week in range(60):
            day = monday + timedelta(weeks=week, days=2)
            self.order_on(partners[0], 10, day.isoformat())
            if week % 4 == 3:
                self.order_on(partners[1], 10, day.isoformat())
        result = self.Trend.get_trends("2024-01-01", "2025-02-23", grain="week", horizon=4)
        self.assertEqual(len(result["periods"]), 60)
        self.assertEqual(result["orders"][:4], [1, 1, 1, 2])
        forecast = result["forecast"]["orders"]
        self.assertEqual(len(forecast["mean"]), 4)
        self.assertIsNotNone(forecast["mape"])
        self.assertLess(forecast["mape"], 0.5)

    def test_bad_input_refused(self):
        with self.assertRaisesRegex(UserError, "between 1 and 104"):
            self.Trend.get_trends("2026-01-01", "2026-04-30", horizon=0)
        with self.assertRaisesRegex(UserError, "between 1 and 104"):
            self.Trend.get_trends("2026-01-01", "2026-04-30", horizon=-3)
        with self.assertRaisesRegex(UserError, "after the end date"):
            self.Trend.get_trends("2026-05-01", "2026-04-30")
        with self.assertRaisesRegex(UserError, "week or month"):
            self.Trend.get_trends("2026-01-01", "2026-04-30", grain="day")
