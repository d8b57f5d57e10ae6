from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class EcrmAnalysisCohort(models.AbstractModel):
    """Monthly acquisition cohorts: the customers whose first counted order fell in a month,
    followed month by month (retention and revenue per customer)."""

    _name = "ecrm.analysis.cohort"
    _description = "Customer Cohorts"

    @api.model
    def get_cohorts(self, date_from, date_to, segment_ids=None, tag_ids=None, team_ids=None):
        """The cohort matrix: one row per month of first order between ``date_from`` and
        ``date_to``, one cell per month since that first order up to the month of ``date_to``.

        :param date_from: a day of the first cohort month (date or ``YYYY-MM-DD``)
        :param date_to: a day of the last month followed
        :param list segment_ids: only customers whose score row (any current company) is in
            one of these segments
        :param list tag_ids: only customers with one of these contact tags (res.partner.category)
        :param list team_ids: only the orders of these sales teams (the sales channel)
        :return: dict with ``currency`` ({id, name, symbol}), ``offsets`` (number of columns),
            ``cohorts``: list of {cohort ``YYYY-MM``, size, cells: list of {offset, customers,
            retention (0..1), revenue, revenue_per_customer}}, and ``filters`` as given
        :raise UserError: bad dates
        """
        self.check_access("read")
        Kpi = self.env["ecrm.analysis.kpi"]
        first, last = self._get_months(date_from, date_to)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH %(members)s,
                sizes AS (SELECT cohort, COUNT(*) AS size FROM members GROUP BY cohort),
                cells AS (
                    SELECT m.cohort,
                           ((EXTRACT(YEAR FROM c.order_date) - EXTRACT(YEAR FROM m.cohort)) * 12
                            + EXTRACT(MONTH FROM c.order_date) - EXTRACT(MONTH FROM m.cohort))::int AS month_offset,
                           COUNT(DISTINCT c.partner_id) AS customers, SUM(c.amount) AS revenue
                      FROM counted c JOIN members m ON m.partner_id = c.partner_id
                     WHERE c.order_date < %(end)s
                  GROUP BY 1, 2
                )
                SELECT s.cohort, s.size, c.month_offset, c.customers, c.revenue
                  FROM sizes s JOIN cells c ON c.cohort = s.cohort
              ORDER BY s.cohort, c.month_offset
                """,
                members=self._members_sql(first, last, segment_ids, tag_ids, team_ids),
                end=self._next_month(last),
            )
        )
        rows = self.env.cr.fetchall()
        cohorts = {}
        for cohort, size, offset, customers, revenue in rows:
            cohorts.setdefault(cohort, (size, {}))[1][offset] = (customers, revenue or 0.0)
        result = []
        for cohort, (size, cells) in cohorts.items():
            span = (last.year - cohort.year) * 12 + last.month - cohort.month + 1
            result.append(
                {
                    "cohort": cohort.strftime("%Y-%m"),
                    "size": size,
                    "cells": [
                        {
                            "offset": offset,
                            "customers": cells.get(offset, (0, 0.0))[0],
                            "retention": round(cells.get(offset, (0, 0.0))[0] / size, 4),
                            "revenue": round(cells.get(offset, (0, 0.0))[1], 2),
                            "revenue_per_customer": round(cells.get(offset, (0, 0.0))[1] / size, 2),
                        }
                        for offset in range(span)
                    ],
                }
            )
        currency = Kpi._get_currency()
        return {
            "currency": {"id": currency.id, "name": currency.name, "symbol": currency.symbol},
            "date_from": fields.Date.to_string(first),
            "date_to": fields.Date.to_string(last),
            "offsets": max([len(c["cells"]) for c in result] + [0]),
            "cohorts": result,
            "filters": {"segment_ids": segment_ids or [], "tag_ids": tag_ids or [], "team_ids": team_ids or []},
        }

    @api.model
    def action_open_cohort_cell(self, cohort, offset, segment_ids=None, tag_ids=None, team_ids=None):
        """The customers of one cell: acquired in month ``cohort`` (``YYYY-MM``) and buying
        ``offset`` months later (0: the whole cohort), with the filters of :meth:`get_cohorts`.

        :return: a res.partner list action
        :raise UserError: bad month or negative offset
        """
        self.check_access("read")
        Kpi = self.env["ecrm.analysis.kpi"]
        try:
            month = fields.Date.to_date(f"{cohort}-01")
            offset = int(offset)
        except (TypeError, ValueError) as error:
            raise UserError(self.env._("%(cohort)s is not a month (YYYY-MM).", cohort=cohort)) from error
        if offset < 0:
            raise UserError(self.env._("The month offset cannot be negative."))
        start = month
        for _i in range(offset):
            start = self._next_month(start)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH %(members)s
                SELECT DISTINCT m.partner_id FROM members m JOIN counted c ON c.partner_id = m.partner_id
                 WHERE c.order_date >= %(start)s AND c.order_date < %(end)s
                """,
                members=self._members_sql(month, month, segment_ids, tag_ids, team_ids),
                start=start,
                end=self._next_month(start),
            )
        )
        partner_ids = [row[0] for row in self.env.cr.fetchall()]
        name = self.env._("Cohort %(cohort)s, month %(offset)s", cohort=cohort, offset=offset)
        return Kpi._partner_action(partner_ids, name)

    # ------------------------------------------------------------------
    @api.model
    def _get_months(self, date_from, date_to):
        start, end = self.env["ecrm.analysis.kpi"]._check_dates(date_from, date_to)
        return start.replace(day=1), end.replace(day=1)

    @api.model
    def _next_month(self, month):
        return (
            month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)
        )

    @api.model
    def _members_sql(self, first, last, segment_ids, tag_ids, team_ids):
        """CTEs ``counted`` (the counted orders up to the end of ``last``) and ``members``
        (partner_id, cohort month) of the customers acquired from month ``first`` to ``last``."""
        Kpi = self.env["ecrm.analysis.kpi"]
        end = self._next_month(last)
        conditions = [SQL("f.cohort BETWEEN %s AND %s", first, last)]
        if segment_ids:
            conditions.append(
                SQL(
                    """EXISTS (SELECT 1 FROM ecrm_partner_score sc WHERE sc.partner_id = f.partner_id
                               AND sc.company_id IN %s AND sc.segment_id IN %s)""",
                    tuple(self.env.companies.ids),
                    tuple(segment_ids),
                )
            )
        if tag_ids:
            conditions.append(
                SQL(
                    """EXISTS (SELECT 1 FROM res_partner_res_partner_category_rel t
                                WHERE t.partner_id = f.partner_id AND t.category_id IN %s)""",
                    tuple(tag_ids),
                )
            )
        return SQL(
            """
            counted AS MATERIALIZED (%(counted)s),
            firsts AS (
                SELECT partner_id, date_trunc('month', MIN(order_date))::date AS cohort
                  FROM counted WHERE order_date < %(end)s GROUP BY partner_id
            ),
            members AS (SELECT f.partner_id, f.cohort FROM firsts f WHERE %(conditions)s)
            """,
            counted=Kpi._counted_orders_sql(end, team_ids=team_ids),
            end=end,
            conditions=SQL(" AND ").join(conditions),
        )
