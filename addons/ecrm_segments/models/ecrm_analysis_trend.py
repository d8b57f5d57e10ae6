import warnings
from datetime import timedelta

import numpy as np
import pandas as pd

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# season length of each grain, in periods
SEASONS = {"week": 52, "month": 12}
# below this many periods no forecast is made
MIN_FORECAST_PERIODS = 6


def forecast_series(values, horizon, season_length, level=0.95, holdout=None):
    """Forecast ``values`` (one number per period) ``horizon`` periods ahead with an ETS
    (exponential smoothing state space) model: additive errors, damped additive trend and,
    when at least two full seasons are known, additive seasonality (Holt-Winters).

    The backtest fits the same model on the series without its last ``holdout`` periods
    (default: the horizon, at most a quarter of the series) and measures the mean absolute
    percentage error (MAPE) of its forecast of those periods, over the periods with a
    non-zero actual value.

    :return: dict with ``mean``, ``lower``, ``upper`` (lists of ``horizon`` floats),
        ``level``, ``mape`` (0.12 = 12%, None when not measurable), ``holdout``, ``seasonal``
        (bool) and ``method`` (text); ``mean`` is empty when the series is too short
    """
    # statsmodels: the ETS state space model with its likelihood fit and analytic prediction
    # intervals is a proven method we would otherwise write by hand
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = np.asarray(values, dtype=float)
    n = len(series)
    if n < MIN_FORECAST_PERIODS:
        return {"mean": [], "lower": [], "upper": [], "level": level, "mape": None, "holdout": 0, "seasonal": False}
    holdout = holdout or max(1, min(horizon, n // 4))

    def fit(data):
        seasonal = len(data) >= 2 * season_length
        model = ETSModel(
            pd.Series(data),
            error="add",
            trend="add",
            damped_trend=True,
            seasonal="add" if seasonal else None,
            seasonal_periods=season_length if seasonal else None,
            initialization_method="heuristic" if seasonal else "estimated",
        )
        with warnings.catch_warnings():
            # convergence notes of the optimiser; the backtest error says how good the fit is
            warnings.simplefilter("ignore")
            return model.fit(disp=False, maxiter=200), seasonal

    mape = None
    if n - holdout >= MIN_FORECAST_PERIODS:
        result, _seasonal = fit(series[:-holdout])
        predicted = np.asarray(result.forecast(holdout))
        actual = series[-holdout:]
        mask = actual != 0
        if mask.any():
            mape = float(np.mean(np.abs((actual[mask] - predicted[mask]) / actual[mask])))
    result, seasonal = fit(series)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = result.get_prediction(start=n, end=n + horizon - 1).summary_frame(alpha=1 - level)
    return {
        "mean": [round(float(v), 2) for v in frame["mean"]],
        "lower": [round(float(v), 2) for v in frame["pi_lower"]],
        "upper": [round(float(v), 2) for v in frame["pi_upper"]],
        "level": level,
        "mape": None if mape is None else round(mape, 4),
        "holdout": holdout if mape is not None else 0,
        "seasonal": seasonal,
    }


class EcrmAnalysisTrend(models.AbstractModel):
    """Orders and revenue per week or month, in total and per segment, with a forecast."""

    _name = "ecrm.analysis.trend"
    _description = "Sales Trends and Forecast"

    @api.model
    def get_trends(self, date_from, date_to, grain="month", horizon=3, segment_id=None, level=0.95):
        """Orders and revenue per period (counted orders of the current companies, amounts in
        the current company's currency), per segment, and a forecast of both.

        :param date_from: first day (date or ``YYYY-MM-DD``); periods are whole weeks
            (Monday first) or months containing the days
        :param date_to: last day
        :param str grain: ``week`` or ``month``
        :param int horizon: periods to forecast (1 to 104)
        :param int segment_id: forecast the customers of this segment only (their score row
            in the order's company); ``False``: all customers
        :param float level: probability of the prediction intervals (0.5 to 0.99)
        :return: dict with ``grain``, ``periods`` (first day of each period), ``orders``,
            ``revenue``, ``series`` ({orders, revenue} of the forecast customers: all or the
            segment's), ``segments`` (list of {segment_id, name, orders, revenue}),
            ``forecast``: {periods, known_periods, orders: {mean, lower, upper, mape, holdout,
            seasonal, level}, revenue: {...}}, ``currency``. A last period that is not over
            at ``date_to`` is shown but not learnt from (``known_periods`` excludes it) and
            the forecast starts with it.
        :raise UserError: bad dates, grain, horizon or level
        """
        self.check_access("read")
        Kpi = self.env["ecrm.analysis.kpi"]
        start, end = Kpi._check_dates(date_from, date_to)
        if grain not in SEASONS:
            raise UserError(self.env._("The period must be week or month, not %(grain)s.", grain=grain))
        try:
            horizon = int(horizon)
            level = float(level)
        except (TypeError, ValueError) as error:
            raise UserError(self.env._("The horizon must be a whole number of periods.")) from error
        if not 1 <= horizon <= 104:
            raise UserError(self.env._("The horizon must be between 1 and 104 periods, not %(h)s.", h=horizon))
        if not 0.5 <= level <= 0.99:
            raise UserError(self.env._("The interval level must be between 0.5 and 0.99."))
        periods = self._period_starts(start, end, grain)
        frame = self._fetch(periods, grain, end)
        total = frame.groupby("period")[["orders", "revenue"]].sum().reindex(periods, fill_value=0)
        if segment_id:
            chosen = frame[frame["segment_id"] == segment_id]
            series = chosen.groupby("period")[["orders", "revenue"]].sum().reindex(periods, fill_value=0)
        else:
            series = total
        segment_ids = [int(s) for s in frame["segment_id"].unique() if s]
        names = {s.id: s.name for s in self.env["ecrm.segment"].browse(segment_ids)}
        segments = []
        for sid, group in frame.groupby("segment_id"):
            per = group.groupby("period")[["orders", "revenue"]].sum().reindex(periods, fill_value=0)
            segments.append(
                {
                    "segment_id": int(sid) or False,
                    "name": names.get(int(sid)) or self.env._("No segment"),
                    "orders": [int(v) for v in per["orders"]],
                    "revenue": [round(float(v), 2) for v in per["revenue"]],
                }
            )
        segments.sort(key=lambda s: -sum(s["revenue"]))
        # a last period that ends after date_to is not over: the model learns from whole periods only
        known = len(periods) - (1 if self._future_starts(periods[-1], grain, 1)[0] - timedelta(days=1) > end else 0)
        future = self._future_starts(periods[known - 1], grain, horizon) if known else []
        fitted = series.iloc[:known]
        currency = Kpi._get_currency()
        return {
            "grain": grain,
            "periods": [fields.Date.to_string(p) for p in periods],
            "orders": [int(v) for v in total["orders"]],
            "revenue": [round(float(v), 2) for v in total["revenue"]],
            "segment_id": segment_id or False,
            "series": {
                "orders": [int(v) for v in series["orders"]],
                "revenue": [round(float(v), 2) for v in series["revenue"]],
            },
            "segments": segments,
            "forecast": {
                "periods": [fields.Date.to_string(p) for p in future],
                "known_periods": known,
                "orders": forecast_series(fitted["orders"].to_numpy(), horizon, SEASONS[grain], level),
                "revenue": forecast_series(fitted["revenue"].to_numpy(), horizon, SEASONS[grain], level),
            },
            "currency": {"id": currency.id, "name": currency.name, "symbol": currency.symbol},
        }

    # ------------------------------------------------------------------
    @api.model
    def _period_starts(self, start, end, grain):
        """First day of every week (Monday) or month from the one holding ``start`` to ``end``."""
        if grain == "week":
            first = start - timedelta(days=start.weekday())
            return [d.date() for d in pd.date_range(first, end, freq="7D")]
        first = start.replace(day=1)
        return [d.date() for d in pd.date_range(first, end, freq="MS")]

    @api.model
    def _future_starts(self, last, grain, horizon):
        freq = "7D" if grain == "week" else "MS"
        return [d.date() for d in pd.date_range(last, periods=horizon + 1, freq=freq)[1:]]

    @api.model
    def _fetch(self, periods, grain, end):
        """One aggregate: orders and revenue per period and segment, as a DataFrame."""
        Kpi = self.env["ecrm.analysis.kpi"]
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH counted AS (%(counted)s)
                SELECT date_trunc(%(grain)s, c.order_date)::date AS period, COALESCE(sc.segment_id, 0),
                       COUNT(*), SUM(c.amount)
                  FROM counted c %(segment_join)s
                 WHERE c.order_date BETWEEN %(start)s AND %(end)s
              GROUP BY 1, 2
                """,
                counted=Kpi._counted_orders_sql(end),
                grain=grain,
                segment_join=Kpi._segment_join_sql(),
                start=periods[0],
                end=end,
            )
        )
        return pd.DataFrame(self.env.cr.fetchall(), columns=["period", "segment_id", "orders", "revenue"]).astype(
            {"orders": int, "revenue": float, "segment_id": int}
        )
