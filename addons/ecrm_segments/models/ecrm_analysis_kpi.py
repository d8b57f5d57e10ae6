from datetime import date, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

# (key, format) of the figures of the KPI board, in display order
KPI_FORMATS = [
    ("active_customers", "integer"),
    ("new_customers", "integer"),
    ("returning_customers", "integer"),
    ("repeat_rate", "percent"),
    ("retention_rate", "percent"),
    ("churn_rate", "percent"),
    ("orders", "integer"),
    ("revenue", "monetary"),
    ("aov", "monetary"),
    ("purchase_frequency", "float"),
    ("clv_historic", "monetary"),
    ("clv_predicted", "monetary"),
]


class EcrmAnalysisKpi(models.AbstractModel):
    """Customer KPIs of a period against the period before, over the counted orders of the
    current companies (the counting rules of ``ecrm.partner.score``), amounts in the currency
    of the current company.

    Also the shared plumbing of the cohort and trend analyses: the periods, the counted
    orders of several companies in one currency, and the partner list opened by a figure.
    """

    _name = "ecrm.analysis.kpi"
    _description = "Customer KPI Board"

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    @api.model
    def get_kpis(self, date_from, date_to, compare=True):
        """The figures of the KPI board.

        :param date_from: first day of the period (date or ``YYYY-MM-DD``)
        :param date_to: last day of the period, included
        :param bool compare: also compute the previous period of the same length
        :return: dict with ``period`` and ``previous`` ({date_from, date_to}), ``currency``
            ({id, name, symbol}), ``companies`` (names), ``kpis`` (list of {key, label,
            format, value, previous, change}), ``segments`` (list of {segment_id, name,
            revenue, previous, customers})
        :raise UserError: dates missing or ``date_from`` after ``date_to``
        """
        self._check_analysis_access()
        periods = self._get_periods(date_from, date_to)
        self.env.flush_all()
        self.env.cr.execute(self._kpi_sql(periods))
        totals, segments = self.env.cr.fetchone()
        segments = segments or []
        names = {
            segment.id: segment.name
            for segment in self.env["ecrm.segment"].browse([s["segment_id"] for s in segments if s["segment_id"]])
        }
        labels = self._get_kpi_labels()
        current = self._kpi_values(totals, 0)
        previous = self._kpi_values(totals, 1) if compare else {}
        currency = self._get_currency()
        return {
            "period": self._period_dict(periods[0]),
            "previous": self._period_dict(periods[1]),
            "currency": {"id": currency.id, "name": currency.name, "symbol": currency.symbol},
            "companies": self.env.companies.mapped("name"),
            "kpis": [
                {
                    "key": key,
                    "label": labels[key],
                    "format": fmt,
                    "value": current[key],
                    "previous": previous.get(key) if compare else None,
                    "change": self._change(current[key], previous.get(key)) if compare else None,
                }
                for key, fmt in KPI_FORMATS
            ],
            "segments": sorted(
                (
                    {
                        "segment_id": row["segment_id"] or False,
                        "name": names.get(row["segment_id"]) or self.env._("No segment"),
                        "revenue": round(row["revenue_0"] or 0.0, 2),
                        "previous": round(row["revenue_1"] or 0.0, 2) if compare else None,
                        "customers": row["customers_0"],
                    }
                    for row in segments
                    if row["customers_0"] or (compare and row["customers_1"])
                ),
                key=lambda s: -s["revenue"],
            ),
        }

    @api.model
    def action_open_kpi(self, key, date_from, date_to, previous=False, segment_id=None):
        """The customers behind one figure of the board, as a res.partner list action.

        :param str key: a figure key of :meth:`get_kpis` (``revenue``, ``aov``, ``orders``,
            ``purchase_frequency`` and the CLV figures open the active customers), or
            ``segment`` with ``segment_id`` (``False`` for customers without segment)
        :param bool previous: the customers of the previous period instead
        :raise UserError: unknown key or bad dates
        """
        self._check_analysis_access()
        periods = self._get_periods(date_from, date_to)
        k = 1 if previous else 0
        conditions = {
            "active_customers": SQL("n_%s > 0", SQL(str(k))),
            "new_customers": SQL("n_%s > 0 AND first_date >= %s", SQL(str(k)), periods[k][0]),
            "returning_customers": SQL("n_%s > 0 AND first_date < %s", SQL(str(k)), periods[k][0]),
            "repeat_rate": SQL("n_%s > 0 AND total_%s >= 2", SQL(str(k)), SQL(str(k))),
            "retention_rate": SQL("n_%s > 0 AND n_%s > 0", SQL(str(k)), SQL(str(k + 1))),
            "churn_rate": SQL("n_%s = 0 AND n_%s > 0", SQL(str(k)), SQL(str(k + 1))),
        }
        for alias in ("orders", "revenue", "aov", "purchase_frequency", "clv_historic", "clv_predicted"):
            conditions[alias] = conditions["active_customers"]
        if key == "segment":
            where = SQL(
                "partner_id IN (SELECT c.partner_id FROM counted c %s WHERE c.order_date BETWEEN %s AND %s AND %s)",
                self._segment_join_sql(),
                periods[k][0],
                periods[k][1],
                SQL("sc.segment_id = %s", segment_id) if segment_id else SQL("sc.segment_id IS NULL"),
            )
        elif key in conditions:
            where = conditions[key]
        else:
            raise UserError(self.env._("Unknown figure: %(key)s", key=key))
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "WITH counted AS MATERIALIZED (%s), per_partner AS (%s) SELECT partner_id FROM per_partner WHERE %s",
                self._counted_orders_sql(periods[0][1]),
                self._per_partner_sql(periods),
                where,
            )
        )
        partner_ids = [row[0] for row in self.env.cr.fetchall()]
        labels = self._get_kpi_labels()
        name = labels.get(key, self.env._("Customers"))
        return self._partner_action(partner_ids, name)

    # ------------------------------------------------------------------
    # Shared plumbing of the analyses
    # ------------------------------------------------------------------
    def _check_analysis_access(self):
        """The analyses read every counted order of the current companies: eCRM users only."""
        self.check_access("read")

    @api.model
    def _to_date(self, value, name):
        if isinstance(value, date):
            return value
        if not value:
            raise UserError(self.env._("The %(name)s is missing.", name=name))
        try:
            return fields.Date.to_date(value)
        except ValueError as error:
            raise UserError(self.env._("%(value)s is not a date.", value=value)) from error

    @api.model
    def _check_dates(self, date_from, date_to):
        """Both dates as ``date``; refuses a missing date or a start after the end."""
        start = self._to_date(date_from, self.env._("start date"))
        end = self._to_date(date_to, self.env._("end date"))
        if start > end:
            raise UserError(self.env._("The start date %(start)s is after the end date %(end)s.", start=start, end=end))
        return start, end

    @api.model
    def _get_periods(self, date_from, date_to):
        """The period and the two before it, each as long as the period: [(from, to)] * 3."""
        start, end = self._check_dates(date_from, date_to)
        length = (end - start).days + 1
        periods = [(start, end)]
        for _i in range(2):
            before = periods[-1][0] - timedelta(days=1)
            periods.append((before - timedelta(days=length - 1), before))
        return periods

    @api.model
    def _period_dict(self, period):
        return {"date_from": fields.Date.to_string(period[0]), "date_to": fields.Date.to_string(period[1])}

    @api.model
    def _get_currency(self):
        return self.env.company.currency_id

    @api.model
    def _currency_factors(self, day):
        """{company: factor} converting each current company's currency to the board's one, at ``day``."""
        target = self._get_currency()
        return {
            company: company.currency_id._get_conversion_rate(company.currency_id, target, self.env.company, day)
            for company in self.env.companies
        }

    @api.model
    def _counted_orders_sql(self, day, team_ids=None, factors=None):
        """The counted orders of the current companies (each with its own eCRM settings),
        without the scoring window, amounts converted to the board's currency at ``day``:
        partner_id, order_date, amount, order_id, team_id, company_id.

        :param list team_ids: only the orders of these sales teams
        :param dict factors: the result of :meth:`_currency_factors` when already known
        """
        Score = self.env["ecrm.partner.score"]
        parts = []
        for company, factor in (factors or self._currency_factors(day)).items():
            config = self.env["ecrm.config"].sudo()._get_for_company(company)  # sudo: settings, read only
            parts.append(
                SQL(
                    """SELECT o.partner_id, o.order_date, o.amount * %(factor)s AS amount, o.order_id,
                              o.team_id, %(company)s AS company_id
                         FROM (%(orders)s) o %(teams)s""",
                    factor=factor,
                    company=company.id,
                    orders=Score._counted_orders_sql(company, config, day, window=False),
                    teams=SQL("WHERE o.team_id IN %s", tuple(team_ids)) if team_ids else SQL(),
                )
            )
        return SQL(" UNION ALL ").join(parts)

    @api.model
    def _segment_join_sql(self):
        """Join of ``counted c`` to the customer's score row of the order's company (``sc``)."""
        return SQL("LEFT JOIN ecrm_partner_score sc ON sc.partner_id = c.partner_id AND sc.company_id = c.company_id")

    @api.model
    def _per_partner_sql(self, periods):
        """One row per customer with a counted order up to the end of the period: first order
        day, counted orders and revenue in each of the three periods (n_0, revenue_0 ... n_2)
        and counted orders up to the end of the period and of the previous one (total_0, total_1)."""
        (f0, t0), (f1, t1), (f2, t2) = periods
        return SQL(
            """
            SELECT partner_id, MIN(order_date) AS first_date,
                   COUNT(*) FILTER (WHERE order_date >= %(f0)s) AS n_0,
                   COUNT(*) FILTER (WHERE order_date BETWEEN %(f1)s AND %(t1)s) AS n_1,
                   COUNT(*) FILTER (WHERE order_date BETWEEN %(f2)s AND %(t2)s) AS n_2,
                   SUM(amount) FILTER (WHERE order_date >= %(f0)s) AS revenue_0,
                   SUM(amount) FILTER (WHERE order_date BETWEEN %(f1)s AND %(t1)s) AS revenue_1,
                   COUNT(*) AS total_0,
                   COUNT(*) FILTER (WHERE order_date <= %(t1)s) AS total_1
              FROM counted
             WHERE order_date <= %(t0)s
          GROUP BY partner_id
            """,
            f0=f0,
            t0=t0,
            f1=f1,
            t1=t1,
            f2=f2,
            t2=t2,
        )

    @api.model
    def _kpi_sql(self, periods):
        """One statement: the totals of both periods (a JSON object) and the revenue per
        segment (a JSON array)."""
        (f0, t0), (f1, t1) = periods[0], periods[1]
        totals = []
        for k in (0, 1):
            start = (f0, f1)[k]
            totals.append(
                SQL(
                    """
                    'active_%(k)s', COUNT(*) FILTER (WHERE n_%(k)s > 0),
                    'new_%(k)s', COUNT(*) FILTER (WHERE n_%(k)s > 0 AND first_date >= %(start)s),
                    'repeat_%(k)s', COUNT(*) FILTER (WHERE n_%(k)s > 0 AND total_%(k)s >= 2),
                    'retained_%(k)s', COUNT(*) FILTER (WHERE n_%(k)s > 0 AND n_%(k1)s > 0),
                    'base_%(k)s', COUNT(*) FILTER (WHERE n_%(k1)s > 0),
                    'orders_%(k)s', COALESCE(SUM(n_%(k)s), 0),
                    'revenue_%(k)s', COALESCE(SUM(revenue_%(k)s), 0),
                    'clv_historic_%(k)s', AVG(s.clv_historic) FILTER (WHERE n_%(k)s > 0),
                    'clv_predicted_%(k)s', AVG(s.clv_predicted) FILTER (WHERE n_%(k)s > 0)
                    """,
                    k=SQL(str(k)),
                    k1=SQL(str(k + 1)),
                    start=start,
                )
            )
        factors = self._currency_factors(t0)
        return SQL(
            """
            WITH counted AS MATERIALIZED (%(counted)s),
            per_partner AS (%(per_partner)s),
            scores AS (
                SELECT sc.partner_id, SUM(sc.clv_historic * f.factor) AS clv_historic,
                       SUM(sc.clv_predicted * f.factor) AS clv_predicted
                  FROM ecrm_partner_score sc
                  JOIN (SELECT UNNEST(%(company_ids)s::int[]) AS company_id,
                               UNNEST(%(factors)s::float8[]) AS factor) f ON f.company_id = sc.company_id
              GROUP BY sc.partner_id
            ),
            segments AS (
                SELECT sc.segment_id,
                       SUM(c.amount) FILTER (WHERE c.order_date >= %(f0)s) AS revenue_0,
                       SUM(c.amount) FILTER (WHERE c.order_date <= %(t1)s) AS revenue_1,
                       COUNT(DISTINCT c.partner_id) FILTER (WHERE c.order_date >= %(f0)s) AS customers_0,
                       COUNT(DISTINCT c.partner_id) FILTER (WHERE c.order_date <= %(t1)s) AS customers_1
                  FROM counted c %(segment_join)s
                 WHERE c.order_date BETWEEN %(f1)s AND %(t0)s
              GROUP BY sc.segment_id
            )
            SELECT (SELECT json_build_object(%(totals)s)
                      FROM per_partner p LEFT JOIN scores s ON s.partner_id = p.partner_id),
                   (SELECT json_agg(segments) FROM segments)
            """,
            counted=self._counted_orders_sql(t0, factors=factors),
            per_partner=self._per_partner_sql(periods),
            company_ids=[c.id for c in factors],
            factors=list(factors.values()),
            segment_join=self._segment_join_sql(),
            f0=f0,
            t0=t0,
            f1=f1,
            t1=t1,
            totals=SQL(",").join(totals),
        )

    @api.model
    def _kpi_values(self, totals, k):
        """The figures of period ``k`` (0: the period, 1: the one before) from the SQL totals."""
        active = totals[f"active_{k}"]
        new = totals[f"new_{k}"]
        orders = totals[f"orders_{k}"]
        revenue = totals[f"revenue_{k}"] or 0.0
        base = totals[f"base_{k}"]
        retention = totals[f"retained_{k}"] / base if base else None
        return {
            "active_customers": active,
            "new_customers": new,
            "returning_customers": active - new,
            "repeat_rate": self._round(totals[f"repeat_{k}"] / active if active else None, 4),
            "retention_rate": self._round(retention, 4),
            "churn_rate": self._round(1.0 - retention if retention is not None else None, 4),
            "orders": orders,
            "revenue": round(revenue, 2),
            "aov": self._round(revenue / orders if orders else None, 2),
            "purchase_frequency": self._round(orders / active if active else None, 4),
            "clv_historic": self._round(totals[f"clv_historic_{k}"], 2),
            "clv_predicted": self._round(totals[f"clv_predicted_{k}"], 2),
        }

    @api.model
    def _round(self, value, digits):
        return None if value is None else round(value, digits)

    @api.model
    def _change(self, value, previous):
        """Relative change from ``previous`` to ``value`` (0.25 = +25%), None when undefined."""
        if value is None or not previous:
            return None
        return round((value - previous) / abs(previous), 4)

    @api.model
    def _get_kpi_labels(self):
        return {
            "active_customers": self.env._("Active customers"),
            "new_customers": self.env._("New customers"),
            "returning_customers": self.env._("Returning customers"),
            "repeat_rate": self.env._("Repeat-purchase rate"),
            "retention_rate": self.env._("Retention rate"),
            "churn_rate": self.env._("Churn rate"),
            "orders": self.env._("Orders"),
            "revenue": self.env._("Revenue"),
            "aov": self.env._("Average order value"),
            "purchase_frequency": self.env._("Purchase frequency"),
            "clv_historic": self.env._("Historic CLV"),
            "clv_predicted": self.env._("Predicted CLV"),
            "segment": self.env._("Customers of the segment"),
        }

    @api.model
    def _partner_action(self, partner_ids, name):
        """A list of the given customers."""
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "res.partner",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", partner_ids)],
            "context": {"create": False},
        }
