import hashlib
import io
import logging
import time
from datetime import timedelta

import numpy as np
import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from . import clv_models
from .ecrm_config import parse_thresholds

_logger = logging.getLogger(__name__)

STAGES = [
    ("prospect", "Prospect"),
    ("new", "New"),
    ("active", "Active"),
    ("at_risk", "At Risk"),
    ("churned", "Churned"),
    ("reactivated", "Reactivated"),
]
# predicted CLV bands of the distribution chart: (key, label, lower bound)
CLV_BAND_LIMITS = [0, 50, 100, 250, 500, 1000, 2500, 5000]
CLV_BANDS = [
    ("0", "0-50"),
    ("1", "50-100"),
    ("2", "100-250"),
    ("3", "250-500"),
    ("4", "500-1,000"),
    ("5", "1,000-2,500"),
    ("6", "2,500-5,000"),
    ("7", "5,000+"),
]
# Partners handled per statement when writing segments, stages and history.
SEGMENT_BATCH = 50000


class EcrmPartnerScore(models.Model):
    """RFM scores, lifecycle stage and lifetime value of one customer in one company.

    Written only by :meth:`recompute` (set-based SQL), one row per customer with at least one
    counted order; customers without orders have no row, hence no score.
    """

    _name = "ecrm.partner.score"
    _description = "Customer Scores"
    _order = "value_at_stake desc, monetary desc, id"
    _rec_name = "partner_id"
    _log_access = False

    # no extra index: the unique (partner_id, company_id) constraint serves the lookups
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    frequency = fields.Integer(readonly=True, aggregator="avg", help="Counted orders.")
    order_days = fields.Integer(readonly=True, aggregator="avg", help="Distinct days with a counted order.")
    first_order_date = fields.Date(readonly=True, aggregator="min")
    last_order_date = fields.Date(readonly=True, aggregator="max")
    previous_order_date = fields.Date(readonly=True, help="The day of the order before the last one.")
    recency_days = fields.Integer(string="Recency (days)", readonly=True, aggregator="avg")
    monetary = fields.Monetary(readonly=True, help="Net untaxed spend, company currency, refunds deducted.")
    refunded = fields.Monetary(
        readonly=True,
        help="Untaxed amount of posted credit notes of the counted orders.",
    )
    aov = fields.Monetary(string="Average Order Value", readonly=True, aggregator="avg")
    r_score = fields.Integer(string="R", readonly=True, aggregator="avg")
    f_score = fields.Integer(string="F", readonly=True, aggregator="avg")
    m_score = fields.Integer(string="M", readonly=True, aggregator="avg")
    rfm_code = fields.Char(string="RFM", readonly=True)
    # from the stored R/F/M and the RFM rules (not stored: a foreign key costs a check per row)
    rfm_segment_id = fields.Many2one("ecrm.segment", string="RFM Segment", compute="_compute_rfm_segment_id")
    segment_id = fields.Many2one("ecrm.segment", readonly=True, ondelete="set null")
    stage = fields.Selection(STAGES, readonly=True)
    clv_historic = fields.Monetary(string="Historic CLV", readonly=True)
    clv_simple = fields.Monetary(string="Simple CLV", readonly=True, help="AOV x orders per year x lifespan.")
    clv_predicted = fields.Monetary(string="Predicted CLV", readonly=True)
    expected_purchases = fields.Float(readonly=True, digits=(16, 2), aggregator="sum")
    p_alive = fields.Float(string="P(alive)", readonly=True, digits=(16, 4), aggregator="avg")
    churn_risk = fields.Float(readonly=True, digits=(16, 4), aggregator="avg")
    value_at_stake = fields.Monetary(readonly=True, help="Churn risk x simple CLV.")
    clv_model = fields.Selection(
        [("bgnbd", "BG/NBD + Gamma-Gamma"), ("simple", "Simple formula")],
        string="CLV Model",
        readonly=True,
    )
    clv_band = fields.Selection(CLV_BANDS, string="Predicted CLV Band", readonly=True)

    _partner_company_unique = models.Constraint(
        "UNIQUE(partner_id, company_id)", "A customer has one score row per company."
    )

    @api.depends("r_score", "f_score", "m_score", "company_id")
    def _compute_rfm_segment_id(self):
        Segment = self.env["ecrm.segment"]
        for company, scores in self.grouped("company_id").items():
            try:
                cells = Segment._get_rfm_cells(company, check_gaps=False)
            except ValidationError:
                cells = [None] * 125  # overlapping rules: no cell has one segment
            for score in scores:
                r, f, m = score.r_score, score.f_score, score.m_score
                cell = cells[(r - 1) * 25 + (f - 1) * 5 + (m - 1)] if all(1 <= v <= 5 for v in (r, f, m)) else None
                score.rfm_segment_id = Segment.browse(cell or [])

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    @api.model
    def recompute(self, company_ids=None):
        """Recompute RFM scores, segments, lifecycle stages, history and CLV, now.

        Runs in the caller's transaction. Idempotent: a second call on unchanged data
        changes nothing and writes no history.

        :param list company_ids: companies to recompute (default: the current company)
        :return: one dict per company: company, customers, rows_written, rows_removed,
            segment_changes, stage_changes, clv_model, clv_model_label, seconds
        :raise AccessError: the user is not an eCRM manager
        :raise ValidationError: the segment rules of a company overlap or leave gaps
        """
        companies = self._get_companies(company_ids)
        return [self._recompute_company(company) for company in companies]

    @api.model
    def fit(self, company_ids=None, force=False):
        """Fit BG/NBD and Gamma-Gamma on each company's scores and refresh CLV and churn risk.

        :param list company_ids: companies (default: the current company)
        :param bool force: refit even when the data did not change since the last fit
        :return: one dict per company: company, clv_model, note, params (dict or False)
        """
        companies = self._get_companies(company_ids)
        result = []
        for company in companies:
            config = self.env["ecrm.config"]._get_for_company(company).sudo()
            self._compute_clv(company, config, force=force)
            result.append(
                {
                    "company": company.name,
                    "clv_model": config.clv_model,
                    "note": config.clv_model_note,
                    "params": config._get_fit_params(),
                }
            )
        return result

    @api.model
    def get_rfm_grid(self, company_id=None):
        """The R x F grid of the current company, for the RFM grid screen and the API.

        :return: dict with ``cells`` (list of {r, f, count, monetary, segment_id, segment}),
            ``max_count``, ``total``, ``currency`` and ``segments`` (id, name, code, count)
        """
        company = self.env["res.company"].browse(company_id) if company_id else self.env.company
        groups = self._read_group(
            [("company_id", "=", company.id)],
            ["r_score", "f_score"],
            ["__count", "monetary:sum"],
        )
        cells_map = self.env["ecrm.segment"]._get_rfm_cells(company, check_gaps=False)
        segments = self.env["ecrm.segment"].browse({sid for sid in cells_map if sid}).exists()
        names = {segment.id: segment.name for segment in segments}
        data = {(r, f): (count, monetary) for r, f, count, monetary in groups}
        cells = []
        for r in range(5, 0, -1):
            for f in range(1, 6):
                count, monetary = data.get((r, f), (0, 0.0))
                # the segment of the cell's middle M score: the grid is drawn over R and F
                segment_id = cells_map[(r - 1) * 25 + (f - 1) * 5 + 2]
                cells.append(
                    {
                        "r": r,
                        "f": f,
                        "count": count,
                        "monetary": round(monetary or 0.0, 2),
                        "segment_id": segment_id or False,
                        "segment": names.get(segment_id, ""),
                    }
                )
        seg_counts = dict(self._read_group([("company_id", "=", company.id)], ["segment_id"], ["__count"]))
        all_segments = self.env["ecrm.segment"].search([("company_id", "in", [company.id, False])])
        return {
            "cells": cells,
            "max_count": max([c["count"] for c in cells] + [0]),
            "total": sum(c["count"] for c in cells),
            "currency": company.currency_id.symbol,
            "segments": [
                {
                    "id": s.id,
                    "name": s.name,
                    "code": s.code,
                    "count": seg_counts.get(s, 0),
                }
                for s in all_segments
            ],
        }

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------
    @api.model
    def _cron_recompute(self):
        """Nightly recompute of every company, and the background run of *Recompute now*.

        Companies queued by *Recompute now* go first. Within a company the work is committed
        step by step (scores, then each batch of customers with its history rows and events),
        with the progress on the company's ``ecrm.config`` (``run_state``, ``run_progress``,
        ``run_done`` / ``run_total``) so the Scoring Settings screen can follow it. A company
        is done for the day once its ``last_run_day`` is today, so a run that stopped half-way
        resumes with what is left: the steps already committed find nothing to change.
        """
        today = fields.Date.context_today(self)
        Config = self.env["ecrm.config"].sudo()
        IrCron = self.env["ir.cron"]
        companies = self.env["res.company"].sudo().search([("active", "=", True)])
        for company in companies:
            Config._get_for_company(company)
        todo = Config.search(["|", ("last_run_day", "=", False), ("last_run_day", "<", today)])
        todo = todo.sorted(lambda c: (c.run_state != "queued", c.id))
        IrCron._commit_progress(remaining=len(todo))
        for config in todo:
            config.write(
                {"run_state": "running", "run_progress": 0.0, "run_done": 0, "run_total": 0, "last_run_error": False}
            )
            IrCron._commit_progress(0)  # the screen shows "running" from now on

            def progress(percent, done=None, total=None, config=config):
                vals = {"run_progress": min(percent, 99.0)}
                if total is not None:
                    vals.update(run_done=done, run_total=total)
                config.write(vals)
                IrCron._commit_progress(0)

            try:
                self._recompute_company(config.company_id, progress=progress)
            except ValidationError as error:
                # a company with broken segment rules must not stop the others: say it on its screen
                _logger.warning("eCRM recompute of %s skipped: %s", config.company_id.name, error)
                config.write({"last_run_error": str(error)})
            config.write({"last_run_day": today, "run_state": "idle", "run_progress": 100.0})
            if not IrCron._commit_progress(1):
                break

    # ------------------------------------------------------------------
    # Engine
    # ------------------------------------------------------------------
    def _get_companies(self, company_ids):
        """The companies to work on: the current one by default; only companies of the user."""
        self._check_manager()
        companies = self.env["res.company"].browse(company_ids) if company_ids else self.env.company
        if not self.env.su and companies - self.env.user.company_ids:
            raise AccessError(self.env._("You can only recompute the companies you work in."))
        return companies

    def _check_manager(self):
        if not (self.env.su or self.env.user.has_group("ecrm_segments.ecrm_group_manager")):
            raise AccessError(self.env._("Only eCRM managers can recompute scores and fit the CLV models."))

    @api.model
    def _recompute_company(self, company, progress=None):
        """Full recompute of one company; see :meth:`recompute`.

        :param progress: ``progress(percent, done=None, total=None)``, called after the scores
            are written and after each batch of customers (the cron commits there); without it
            the whole company is one transaction
        :raise ValidationError: broken segment rules, before anything is written
        """
        started = time.monotonic()
        timings = {}
        config = self.env["ecrm.config"]._get_for_company(company).sudo()
        # the orders are dated by their UTC day (``date_order::date``): count the days since
        # them on the same calendar, whatever the time zone of the user who runs it
        today = fields.Date.today()
        self.env.flush_all()
        # refused segment rules raise here, before anything is written (no savepoint needed: a
        # subtransaction would make the row locks of the foreign keys on res_partner cost a
        # multixact each when the same rows are updated afterwards)
        cell_map = self.env["ecrm.segment"]._get_rfm_cell_map(company)
        customers, written, removed, moves, stage_changes = self._upsert_scores(
            company, config, cell_map, today, timings=timings
        )
        step = time.monotonic()
        self.env["res.partner"].invalidate_model(["ecrm_segment_id", "ecrm_stage"])
        self._notify_segment_changes(moves)  # before the commit that follows: with their rows
        timings["events"] = time.monotonic() - step
        if progress:
            progress(40.0)
        step = time.monotonic()
        events = timings["events"]
        prospect_moves, prospect_changes = self._sync_segments(
            company, progress=progress, timings=timings, scored=customers
        )
        moves["count"] += prospect_moves["count"]
        stage_changes += prospect_changes
        timings["segments"] = time.monotonic() - step - (timings["events"] - events)
        seconds = time.monotonic() - started
        config.write(
            {
                "last_run_date": fields.Datetime.now(),
                "last_run_duration": seconds,
                "last_run_customers": customers,
                "last_run_changes": moves["count"],
            }
        )
        self.env.invalidate_all()
        _logger.info(
            "eCRM recompute of %s: %s customers, %s rows written, %s removed, %s segment changes in %.2fs",
            company.name,
            customers,
            written,
            removed,
            moves["count"],
            seconds,
        )
        return {
            "company": company.name,
            "customers": customers,
            "rows_written": written,
            "rows_removed": removed,
            "segment_changes": moves["count"],
            "stage_changes": stage_changes,
            "clv_model": config.clv_model,
            "clv_model_label": dict(config._fields["clv_model"].selection).get(config.clv_model, ""),
            "seconds": seconds,
            "timings": timings,
        }

    @api.model
    def _counted_orders_sql(self, company, config, today, window=True):
        """SQL of the counted orders of ``company``: partner_id, order_date, amount, refunded,
        discounted, order_id, team_id.

        Confirmed orders (state ``sale``, optionally only locked ones, of the chosen teams,
        in the window) of the customer's commercial entity; amount = untaxed total in
        company currency (at the order's rate) minus the untaxed amount of posted credit
        notes linked to its lines. A fully refunded order no longer counts.

        :param bool window: apply the scoring window of ``config`` (the analyses, which
            choose their own periods, pass ``False``)
        """
        conditions = [SQL("so.company_id = %s", company.id), SQL("so.state = 'sale'")]
        if config.order_filter == "locked":
            conditions.append(SQL("so.locked"))
        if config.team_ids:
            conditions.append(SQL("so.team_id IN %s", tuple(config.team_ids.ids)))
        if window and config.window_days:
            conditions.append(SQL("so.date_order >= %s", today - timedelta(days=config.window_days)))
        return SQL(
            """
            SELECT o.partner_id, o.order_date, o.amount - COALESCE(rf.refunded, 0) AS amount,
                   COALESCE(rf.refunded, 0) AS refunded, o.discounted, o.order_id, o.team_id
              FROM (
                    SELECT so.id AS order_id, cp.commercial_partner_id AS partner_id,
                           so.date_order::date AS order_date, FALSE AS discounted, so.team_id,
                           so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS amount
                      FROM sale_order so
                      JOIN res_partner cp ON cp.id = so.partner_id
                     WHERE %(conditions)s
                   ) o
         LEFT JOIN (
                    SELECT x.order_id, SUM(x.balance) AS refunded
                      FROM (
                            SELECT DISTINCT sol.order_id, aml.id, aml.balance
                              FROM account_move_line aml
                              JOIN account_move am ON am.id = aml.move_id
                              JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                              JOIN sale_order_line sol ON sol.id = rel.order_line_id
                             WHERE am.move_type = 'out_refund' AND am.state = 'posted'
                               AND aml.company_id = %(company)s AND aml.display_type = 'product'
                           ) x
                  GROUP BY x.order_id
                   ) rf ON rf.order_id = o.order_id
             WHERE rf.order_id IS NULL OR o.amount - rf.refunded > 0.005
            """,
            conditions=SQL(" AND ").join(conditions),
            company=company.id,
        )

    @api.model
    def _score_expressions(self, config):
        """SQL expressions of R, F and M over the ``ranked`` CTE, per the scoring method."""
        if config.scoring_method == "threshold":
            rt = parse_thresholds(config.recency_thresholds)
            ft = parse_thresholds(config.frequency_thresholds)
            mt = parse_thresholds(config.monetary_thresholds)
            r = SQL(
                "CASE WHEN recency <= %s THEN 5 WHEN recency <= %s THEN 4 WHEN recency <= %s THEN 3 "
                "WHEN recency <= %s THEN 2 ELSE 1 END",
                *rt,
            )
            f = SQL(
                "1 + (frequency >= %s)::int + (frequency >= %s)::int + (frequency >= %s)::int + (frequency >= %s)::int",
                *ft,
            )
            m = SQL(
                "1 + (monetary >= %s)::int + (monetary >= %s)::int + (monetary >= %s)::int + (monetary >= %s)::int",
                *mt,
            )
            return r, f, m
        # Quintiles: 1 + floor(5 * (rank - 1) / n), rank() giving equal values the same rank,
        # so ties never split across two scores and the result does not depend on row order.
        return (
            SQL("(1 + 5 * (r_rank - 1) / n)::int"),
            SQL("(1 + 5 * (f_rank - 1) / n)::int"),
            SQL("(1 + 5 * (m_rank - 1) / n)::int"),
        )

    @api.model
    def _domain_segment_case(self, company, partner_column, fallback):
        """``CASE WHEN <partner in filter segment> THEN id ... ELSE fallback END``."""
        segments = (
            self.env["ecrm.segment"]
            .sudo()
            .search(  # sudo: same membership whoever runs it
                [
                    ("rule_type", "=", "domain"),
                    ("company_id", "in", [company.id, False]),
                ]
            )
        )
        if not segments:
            return fallback
        whens = [
            SQL(
                "WHEN %s IN %s THEN %s",
                partner_column,
                segment.with_company(company)._get_domain_sql(),
                segment.id,
            )
            for segment in segments
        ]
        return SQL("CASE %s ELSE %s END", SQL(" ").join(whens), fallback)

    @api.model
    def _upsert_scores(self, company, config, cell_map, today, timings=None):
        """Aggregate and score the counted orders into a temporary table (one statement),
        compute the CLV of those customers in numpy, then insert or update the changed score
        rows, delete those of customers without counted orders and write the history of the
        segment changes (one statement), so each score row is written at most once per run.

        :return: (customers scored, rows inserted or changed, rows removed, moves, changes):
            ``moves`` maps ``entered`` and ``exited`` to (history ids, partner ids) and
            ``count`` to the history rows created; ``changes`` counts the customers whose
            segment or stage changed
        """
        cr = self.env.cr
        timings = {} if timings is None else timings
        step = time.monotonic()
        r_expr, f_expr, m_expr = self._score_expressions(config)
        rfm_segment = SQL("(%s::int[])[(r - 1) * 25 + (f - 1) * 5 + m]", cell_map)
        segment = self._domain_segment_case(company, SQL("partner_id"), rfm_segment)
        cr.execute(SQL("DROP TABLE IF EXISTS ecrm_score_new, ecrm_score_clv"))
        self._no_jit()
        cr.execute(
            SQL(
                """
                CREATE TEMP TABLE ecrm_score_new ON COMMIT DROP AS
                WITH counted AS (%(orders)s),
                agg AS (
                    SELECT partner_id, COUNT(*) AS frequency, COUNT(DISTINCT order_date) AS order_days,
                           MIN(order_date) AS first_date, MAX(order_date) AS last_date,
                           (ARRAY_AGG(DISTINCT order_date ORDER BY order_date DESC))[2] AS previous_date,
                           ROUND(SUM(amount)::numeric, 2) AS monetary, ROUND(SUM(refunded)::numeric, 2) AS refunded
                      FROM counted
                  GROUP BY partner_id
                ),
                ranked AS (
                    SELECT agg.*, %(today)s::date - last_date AS recency, COUNT(*) OVER () AS n,
                           RANK() OVER (ORDER BY last_date) AS r_rank,
                           RANK() OVER (ORDER BY frequency) AS f_rank,
                           RANK() OVER (ORDER BY monetary) AS m_rank
                      FROM agg
                ),
                scored AS (
                    SELECT ranked.*, %(r)s AS r, %(f)s AS f, %(m)s AS m FROM ranked
                )
                SELECT partner_id, frequency, order_days, first_date, last_date, previous_date, recency,
                       monetary, refunded, ROUND(monetary / frequency, 2) AS aov, monetary AS clv_historic,
                       r, f, m, CONCAT(r, f, m) AS rfm_code,
                       %(segment)s AS segment_id,
                       CASE WHEN recency > %(churn)s THEN 'churned'
                            WHEN recency > %(at_risk)s THEN 'at_risk'
                            WHEN first_date >= %(today)s::date - %(new)s THEN 'new'
                            WHEN previous_date IS NOT NULL AND last_date - previous_date > %(churn)s THEN 'reactivated'
                            ELSE 'active' END AS stage
                  FROM scored
                """,
                orders=self._counted_orders_sql(company, config, today),
                today=today,
                r=r_expr,
                f=f_expr,
                m=m_expr,
                segment=segment,
                churn=config.churn_days,
                at_risk=config.at_risk_days,
                new=config.new_days,
            )
        )
        cr.execute(
            SQL(
                """
                SELECT partner_id, order_days - 1, last_date - first_date, %(today)s::date - first_date,
                       monetary, frequency, recency
                  FROM ecrm_score_new ORDER BY partner_id
                """,
                today=today,
            )
        )
        timings["aggregate"] = time.monotonic() - step
        step = time.monotonic()
        partner_ids, clv_values, bands = self._clv_arrays(config, cr.fetchall())
        timings["clv"] = time.monotonic() - step
        step = time.monotonic()
        score_columns = [
            "frequency", "order_days", "first_order_date", "last_order_date", "previous_order_date", "recency_days",
            "monetary", "refunded", "aov", "clv_historic", "r_score", "f_score", "m_score", "rfm_code",
            "segment_id", "stage",
        ]  # fmt: skip
        source_columns = [
            "frequency", "order_days", "first_date", "last_date", "previous_date", "recency", "monetary", "refunded",
            "aov", "clv_historic", "r", "f", "m", "rfm_code", "segment_id", "stage",
        ]  # fmt: skip
        clv_columns = list(clv_values)
        columns = [*score_columns, *clv_columns, "clv_model", "clv_band"]
        # the CLV figures join the scores through a temporary table loaded with COPY: no
        # statement carrying 100,000s of literals, and a row count the planner knows
        cr.execute(
            SQL(
                "CREATE TEMP TABLE ecrm_score_clv (partner_id int, clv_band varchar, %s) ON COMMIT DROP",
                SQL(", ").join(SQL("%s float8", SQL.identifier(n)) for n in clv_columns),
            )
        )
        self._copy_rows(
            "ecrm_score_clv",
            ["partner_id", "clv_band", *clv_columns],
            zip(partner_ids, bands, *(clv_values[n] for n in clv_columns), strict=True),
        )
        params = {
            "columns": SQL(", ").join(SQL.identifier(c) for c in columns),
            "source": SQL(", ").join(SQL.identifier("n", c) for c in source_columns),
            "clv": SQL(", ").join(SQL.identifier("clv", c) for c in clv_columns),
            "model": config.clv_model,
            "company": company.id,
        }
        cr.execute(SQL("SELECT 1 FROM ecrm_partner_score WHERE company_id = %s LIMIT 1", company.id))
        first = not cr.fetchone()
        insert = SQL(
            """
            INSERT INTO ecrm_partner_score (partner_id, company_id, %(columns)s)
            SELECT n.partner_id, %(company)s, %(source)s, %(clv)s, %(model)s, clv.clv_band
              FROM ecrm_score_new n JOIN ecrm_score_clv clv ON clv.partner_id = n.partner_id
            """,
            **params,
        )
        if first:
            # first run of the company: every row is new, a plain insert (no conflict to look for)
            old = SQL("SELECT NULL::int AS partner_id, NULL::int AS segment_id, NULL::varchar AS stage WHERE FALSE")
            write = SQL("%s RETURNING partner_id, segment_id, stage", insert)
            remove = SQL("SELECT NULL::int AS partner_id, NULL::int AS segment_id, NULL::varchar AS stage WHERE FALSE")
        else:
            old = SQL("SELECT partner_id, segment_id, stage FROM ecrm_partner_score WHERE company_id = %s", company.id)
            write = SQL(
                """%(insert)s
                ON CONFLICT (partner_id, company_id) DO UPDATE SET (%(columns)s) = (%(excluded)s)
                 WHERE (%(current)s) IS DISTINCT FROM (%(excluded)s)
             RETURNING partner_id, segment_id, stage""",
                insert=insert,
                columns=params["columns"],
                excluded=SQL(", ").join(SQL("EXCLUDED.%s", SQL.identifier(c)) for c in columns),
                current=SQL(", ").join(SQL("ecrm_partner_score.%s", SQL.identifier(c)) for c in columns),
            )
            remove = SQL(
                """
                DELETE FROM ecrm_partner_score sc
                 WHERE sc.company_id = %(company)s
                   AND NOT EXISTS (SELECT 1 FROM ecrm_score_new n WHERE n.partner_id = sc.partner_id)
             RETURNING partner_id, segment_id, stage
                """,
                company=company.id,
            )
        # One statement: the scores, the customers' moves between segments (every CTE sees the
        # rows as they were before it: ``old``), their history rows, and the membership rows of
        # the customers who gain or lose their scores; a scored customer's current segment and
        # stage are those of its score row, the others' those of their membership row.
        cr.execute(
            SQL(
                """
                WITH old AS MATERIALIZED (%(old)s),
                written AS (%(write)s),
                removed AS (%(remove)s),
                dropped AS (
                    DELETE FROM ecrm_segment_member m
                     WHERE m.company_id = %(company)s
                       AND EXISTS (SELECT 1 FROM ecrm_score_new n WHERE n.partner_id = m.partner_id)
                 RETURNING partner_id, segment_id, stage
                ),
                demoted AS (
                    INSERT INTO ecrm_segment_member (partner_id, company_id, segment_id, stage)
                    SELECT r.partner_id, %(company)s, %(unscored)s, 'prospect' FROM removed r
                        ON CONFLICT (partner_id, company_id)
                        DO UPDATE SET segment_id = EXCLUDED.segment_id, stage = EXCLUDED.stage
                 RETURNING partner_id, segment_id, stage
                ),
                moved AS (
                    SELECT w.partner_id,
                           CASE WHEN o.partner_id IS NOT NULL THEN o.segment_id ELSE d.segment_id END AS from_id,
                           CASE WHEN o.partner_id IS NOT NULL THEN o.stage ELSE d.stage END AS from_stage,
                           w.segment_id AS to_id, w.stage AS to_stage
                      FROM written w
                 LEFT JOIN old o ON o.partner_id = w.partner_id
                 LEFT JOIN dropped d ON d.partner_id = w.partner_id
                 UNION ALL
                    SELECT r.partner_id, r.segment_id, r.stage, dm.segment_id, dm.stage
                      FROM removed r JOIN demoted dm ON dm.partner_id = r.partner_id
                ),
                history AS (
                    INSERT INTO ecrm_segment_history (partner_id, segment_from_id, segment_to_id, date, company_id)
                    SELECT partner_id, from_id, to_id, %(now)s, %(company)s
                      FROM moved
                     WHERE from_id IS DISTINCT FROM to_id
                  ORDER BY partner_id
                 RETURNING id, partner_id, segment_from_id, segment_to_id
                )
                SELECT (SELECT COUNT(*) FROM ecrm_score_new), (SELECT COUNT(*) FROM written),
                       (SELECT COUNT(*) FROM removed),
                       ARRAY(SELECT id FROM history WHERE segment_to_id IS NOT NULL ORDER BY id),
                       ARRAY(SELECT partner_id FROM history WHERE segment_to_id IS NOT NULL ORDER BY id),
                       ARRAY(SELECT id FROM history WHERE segment_from_id IS NOT NULL ORDER BY id),
                       ARRAY(SELECT partner_id FROM history WHERE segment_from_id IS NOT NULL ORDER BY id),
                       (SELECT COUNT(*) FROM history),
                       (SELECT COUNT(*) FROM moved
                         WHERE from_id IS DISTINCT FROM to_id OR from_stage IS DISTINCT FROM to_stage)
                """,
                old=old,
                write=write,
                remove=remove,
                unscored=self._domain_segment_case(company, SQL("r.partner_id"), SQL("NULL::int")),
                company=company.id,
                now=fields.Datetime.now(),
            )
        )
        customers, written, removed, in_ids, in_partners, out_ids, out_partners, history_count, changes = cr.fetchone()
        moves = {"entered": (in_ids, in_partners), "exited": (out_ids, out_partners), "count": history_count}
        result = (customers, written, removed, moves, changes)
        if first:
            # the table went from no row of the company to all of them: tell the planner, or
            # the statements that follow plan their joins for a few hundred rows
            cr.execute(SQL("ANALYZE ecrm_partner_score"))
        cr.execute(SQL("DROP TABLE ecrm_score_new, ecrm_score_clv"))
        timings["score_write"] = time.monotonic() - step
        return result

    @api.model
    def _no_jit(self):
        """No JIT compilation of the recompute's statements until the end of the transaction:
        PostgreSQL compiles each large statement anew (about a quarter of a second at 100,000
        customers), more than the compiled code saves on these scans and joins."""
        self.env.cr.execute(SQL("SET LOCAL jit = off"))

    @api.model
    def _copy_rows(self, table, columns, rows):
        """COPY ``rows`` (tuples of numbers and simple strings) into the table ``table``."""
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
            buffer.write("\n")
        buffer.seek(0)
        # as the ORM does for COPY: no asynchronous wait callback during the copy
        callback = psycopg2.extensions.get_wait_callback()
        psycopg2.extensions.set_wait_callback(None)
        try:
            self.env.cr.copy_from(buffer, table=table, columns=columns)
        finally:
            psycopg2.extensions.set_wait_callback(callback)

    @api.model
    def _sync_segments(self, company, progress=None, timings=None, scored=0):
        """Segment and stage of the customers without a score in ``company`` (prospects: a
        filter segment they match, else none; stage ``prospect``) into their membership rows
        (``ecrm.segment.member``) where they changed, writing one history row per segment change
        in the same statement, then fire the segment events of those rows. The scored customers'
        moves are written with their scores (:meth:`_upsert_scores`).

        Customers are the contacts with ``customer_rank > 0`` or a membership row. Batches of
        partner ids; each batch (memberships, history, events) is complete before ``progress`` is
        called, so a cron committing there resumes cleanly.

        :param int scored: the customers done with their scores, counted in the progress
        :return: (moves, number of stage-only or segment changes); moves maps ``entered`` and
            ``exited`` to (history ids, partner ids) and ``count`` to the history rows created
        """
        timings = {} if timings is None else timings
        timings.setdefault("events", 0.0)
        self.env.cr.execute(SQL("SELECT MIN(id), MAX(id) FROM res_partner"))
        low, high = self.env.cr.fetchone()
        changes = history_count = 0
        moves = {"entered": ([], []), "exited": ([], [])}  # history ids, partner ids
        if low is None:
            moves["count"] = 0
            return moves, 0
        total = 0
        if progress:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT COUNT(*) FROM res_partner p
                     WHERE (p.customer_rank > 0
                            OR EXISTS (SELECT 1 FROM ecrm_segment_member m
                                        WHERE m.partner_id = p.id AND m.company_id = %(company)s))
                       AND NOT EXISTS (SELECT 1 FROM ecrm_partner_score sc
                                        WHERE sc.partner_id = p.id AND sc.company_id = %(company)s)
                    """,
                    company=company.id,
                )
            )
            total = scored + self.env.cr.fetchone()[0]
        done = scored
        unscored_segment = self._domain_segment_case(company, SQL("p.id"), SQL("NULL::int"))
        now = fields.Datetime.now()
        start = low
        while start <= high:
            stop = start + SEGMENT_BATCH - 1
            self._no_jit()  # again in each batch: the cron commits between them
            self.env.cr.execute(
                SQL(
                    """
                    WITH target AS (
                        SELECT p.id AS partner_id,
                               m.id AS member_id,
                               m.segment_id AS old_segment,
                               m.stage AS old_stage,
                               %(unscored)s AS new_segment,
                               'prospect' AS new_stage
                          FROM res_partner p
                     LEFT JOIN ecrm_segment_member m ON m.partner_id = p.id AND m.company_id = %(company)s
                         WHERE p.id BETWEEN %(start)s AND %(stop)s
                           AND (p.customer_rank > 0 OR m.id IS NOT NULL)
                           AND NOT EXISTS (SELECT 1 FROM ecrm_partner_score sc
                                            WHERE sc.partner_id = p.id AND sc.company_id = %(company)s)
                    ),
                    changed AS (
                        SELECT * FROM target
                         WHERE old_segment IS DISTINCT FROM new_segment OR old_stage IS DISTINCT FROM new_stage
                    ),
                    history AS (
                        INSERT INTO ecrm_segment_history (partner_id, segment_from_id, segment_to_id, date, company_id)
                        SELECT partner_id, old_segment, new_segment, %(now)s, %(company)s
                          FROM changed
                         WHERE old_segment IS DISTINCT FROM new_segment
                     RETURNING id, partner_id, segment_from_id, segment_to_id
                    ),
                    updated AS (
                        UPDATE ecrm_segment_member m
                           SET segment_id = c.new_segment, stage = c.new_stage
                          FROM changed c
                         WHERE m.id = c.member_id
                     RETURNING 1
                    ),
                    inserted AS (
                        INSERT INTO ecrm_segment_member (partner_id, company_id, segment_id, stage)
                        SELECT partner_id, %(company)s, new_segment, new_stage
                          FROM changed
                         WHERE member_id IS NULL
                     RETURNING 1
                    )
                    SELECT ARRAY(SELECT id FROM history WHERE segment_to_id IS NOT NULL ORDER BY id),
                           ARRAY(SELECT partner_id FROM history WHERE segment_to_id IS NOT NULL ORDER BY id),
                           ARRAY(SELECT id FROM history WHERE segment_from_id IS NOT NULL ORDER BY id),
                           ARRAY(SELECT partner_id FROM history WHERE segment_from_id IS NOT NULL ORDER BY id),
                           (SELECT COUNT(*) FROM history),
                           (SELECT COUNT(*) FROM updated) + (SELECT COUNT(*) FROM inserted),
                           (SELECT COUNT(*) FROM target)
                    """,
                    unscored=unscored_segment,
                    company=company.id,
                    start=start,
                    stop=stop,
                    now=now,
                )
            )
            in_ids, in_partners, out_ids, out_partners, batch_history, batch_changes, batch_customers = (
                self.env.cr.fetchone()
            )
            moves["entered"][0].extend(in_ids)
            moves["entered"][1].extend(in_partners)
            moves["exited"][0].extend(out_ids)
            moves["exited"][1].extend(out_partners)
            history_count += batch_history
            changes += batch_changes
            if batch_history:
                self.env["ecrm.segment.member"].invalidate_model()
                self.env["res.partner"].invalidate_model(["ecrm_segment_id", "ecrm_stage"])
                step = time.monotonic()
                self._notify_segment_changes({"entered": (in_ids, in_partners), "exited": (out_ids, out_partners)})
                timings["events"] += time.monotonic() - step
            done += batch_customers
            if progress:
                progress(40.0 + 60.0 * (stop - low + 1) / (high - low + 1), min(done, total), total)
            start = stop + 1
        self.env["ecrm.segment.member"].invalidate_model()
        self.env["res.partner"].invalidate_model(["ecrm_segment_id", "ecrm_stage"])
        moves["count"] = history_count
        return moves, changes

    @api.model
    def _notify_segment_changes(self, moves):
        """Fire ``segments.segment_exited`` then ``segments.segment_entered`` for the new history
        rows; ``moves`` maps each event to (history ids, partner ids) as returned by
        :meth:`_sync_segments` (no extra read of the rows)."""
        History = self.env["ecrm.segment.history"]
        Partner = self.env["res.partner"]
        for kind in ("exited", "entered"):
            history_ids, partner_ids = moves[kind]
            if history_ids:
                Partner.browse(dict.fromkeys(partner_ids))._ecrm_notify_event(
                    f"segments.segment_{kind}", history=History.browse(history_ids)
                )

    @api.model
    def _compute_clv(self, company, config, today=None, force=False):
        """Refit (when the data changed, or ``force``) and refresh CLV and churn risk of the
        stored scores of ``company``; the full recompute does the same inside its upsert."""
        today = today or fields.Date.today()  # the orders' UTC calendar, as in the recompute
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT partner_id, order_days - 1, last_order_date - first_order_date,
                       %(today)s::date - first_order_date, monetary, frequency, recency_days
                  FROM ecrm_partner_score WHERE company_id = %(company)s ORDER BY partner_id
                """,
                today=today,
                company=company.id,
            )
        )
        partner_ids, values, bands = self._clv_arrays(config, self.env.cr.fetchall(), force=force)
        names = list(values)
        self.env.cr.execute(
            SQL(
                """
                UPDATE ecrm_partner_score sc
                   SET (%(columns)s, clv_model, clv_band) = (%(new)s, %(model)s, v.clv_band)
                  FROM (SELECT UNNEST(%(ids)s::int[]) AS partner_id, UNNEST(%(bands)s::varchar[]) AS clv_band,
                               %(arrays)s) v
                 WHERE sc.partner_id = v.partner_id AND sc.company_id = %(company)s
                   AND (%(old)s, sc.clv_model, sc.clv_band) IS DISTINCT FROM (%(new)s, %(model)s, v.clv_band)
                """,
                columns=SQL(", ").join(SQL.identifier(n) for n in names),
                new=SQL(", ").join(SQL.identifier("v", n) for n in names),
                old=SQL(", ").join(SQL.identifier("sc", n) for n in names),
                arrays=SQL(", ").join(SQL("UNNEST(%s::float8[]) AS %s", values[n], SQL.identifier(n)) for n in names),
                ids=partner_ids,
                bands=bands,
                model=config.clv_model,
                company=company.id,
            )
        )
        self.invalidate_model()

    @api.model
    def _clv_arrays(self, config, rows, force=False):
        """CLV and churn figures of the customers in ``rows``, fitting the models first when
        the data changed since the last fit (or ``force``).

        Too-thin-data rule: BG/NBD + Gamma-Gamma are used only with at least
        ``fit_min_customers`` scored customers, of whom ``fit_min_repeat`` bought on two
        different days or more, and when both fits converge to usable parameters
        (Gamma-Gamma needs q > 1). Otherwise the simple formula is used and the reason
        is stored in ``clv_model_note``.

        :param rows: (partner_id, x, t_x, T, monetary, frequency, recency) tuples, days
        :return: (partner ids, {field: list of values}, list of CLV band keys)
        """
        if not rows:
            if config.clv_model != "simple" or not config.fit_date:
                config.write({"clv_model": "simple", "clv_model_note": self.env._("No customer with orders yet.")})
            names = ["clv_simple", "clv_predicted", "expected_purchases", "p_alive", "churn_risk", "value_at_stake"]
            return [], dict.fromkeys(names, []), []
        data = np.array(rows, dtype=float)
        partner_ids = data[:, 0].astype(int)
        x, t_x, T, monetary, frequency, recency = (data[:, i] for i in range(1, 7))
        zbar = np.where(frequency > 0, monetary / np.maximum(frequency, 1), 0.0)
        repeaters = int((x > 0).sum())
        digest = hashlib.sha1(
            b"".join(a.tobytes() for a in (x, t_x, T, zbar))
            + repr((config.fit_min_customers, config.fit_min_repeat)).encode()
        ).hexdigest()
        if force or self._must_refit(config, digest, len(x)):
            self._fit_company(config, x, t_x, T, zbar, repeaters, digest)

        # the simple formula: AOV x orders per year x expected lifespan
        years = np.maximum((T + 1) / 365.0, 1.0)
        clv_simple = zbar * (frequency / years) * config.clv_lifespan_years
        horizon = float(config.clv_horizon_days)
        if config.clv_model == "bgnbd":
            params = (config.bgnbd_r, config.bgnbd_alpha, config.bgnbd_a, config.bgnbd_b)
            p_alive = clv_models.bgnbd_probability_alive(params, x, t_x, T)
            expected = clv_models.bgnbd_expected_purchases(params, horizon, x, t_x, T)
            spend = clv_models.gamma_gamma_expected_spend((config.gg_p, config.gg_q, config.gg_gamma), x, zbar)
            clv_predicted = expected * spend
        else:
            p_alive = 1.0 - np.minimum(recency / config.churn_days, 1.0)
            expected = (frequency / years) * horizon / 365.0 * p_alive
            clv_predicted = clv_simple
        churn = 1.0 - p_alive
        values = {
            "clv_simple": np.round(clv_simple, 2),
            "clv_predicted": np.round(np.nan_to_num(clv_predicted), 2),
            "expected_purchases": np.round(np.nan_to_num(expected), 4),
            "p_alive": np.round(p_alive, 4),
            "churn_risk": np.round(churn, 4),
            "value_at_stake": np.round(churn * clv_simple, 2),
        }
        bands = np.clip(np.searchsorted(CLV_BAND_LIMITS, values["clv_predicted"], side="right") - 1, 0, 7)
        return partner_ids.tolist(), {k: v.tolist() for k, v in values.items()}, [str(b) for b in bands.tolist()]

    @api.model
    def _must_refit(self, config, digest, customers):
        """Refit when never fitted, or when the data changed and the fit is older than the refit
        interval, the simple model is in use, or the customer base changed by more than 10%."""
        if not config.fit_date or not config.clv_model:
            return True
        if digest == config.fit_digest:
            return False
        age = fields.Datetime.now() - config.fit_date
        return (
            age >= timedelta(days=config.fit_interval_days)
            or config.clv_model == "simple"
            or abs(customers - config.fit_customers) > 0.1 * max(config.fit_customers, 1)
        )

    @api.model
    def _fit_company(self, config, x, t_x, T, zbar, repeaters, digest):
        """Fit both models on one company's customers and store the outcome on ``config``."""
        n = len(x)
        vals = {
            "fit_digest": digest,
            "fit_date": fields.Datetime.now(),
            "fit_customers": n,
            "fit_repeat_customers": repeaters,
        }
        reason = None
        if n < config.fit_min_customers:
            reason = self.env._(
                "Too little data: %(n)s customers with orders, BG/NBD needs %(min)s.",
                n=n,
                min=config.fit_min_customers,
            )
        elif repeaters < config.fit_min_repeat:
            reason = self.env._(
                "Too little data: %(n)s repeat customers, BG/NBD needs %(min)s.",
                n=repeaters,
                min=config.fit_min_repeat,
            )
        else:
            try:
                bg = clv_models.fit_bgnbd(x, t_x, T)
                gg = clv_models.fit_gamma_gamma(x, zbar)
            except (clv_models.FitError, FloatingPointError, ValueError) as error:
                reason = self.env._("The maximum-likelihood fit failed (%(error)s).", error=error)
            else:
                if gg["q"] <= 1:
                    reason = self.env._(
                        "Gamma-Gamma fit unusable (q = %(q)s must exceed 1).",
                        q=round(gg["q"], 3),
                    )
                else:
                    vals.update(
                        {
                            "bgnbd_r": bg["r"],
                            "bgnbd_alpha": bg["alpha"],
                            "bgnbd_a": bg["a"],
                            "bgnbd_b": bg["b"],
                            "bgnbd_log_likelihood": bg["log_likelihood"],
                            "gg_p": gg["p"],
                            "gg_q": gg["q"],
                            "gg_gamma": gg["gamma"],
                            "gg_log_likelihood": gg["log_likelihood"],
                        }
                    )
        if reason:
            vals.update(
                {
                    "clv_model": "simple",
                    "clv_model_note": reason + " " + self.env._("Using the simple formula."),
                }
            )
        else:
            vals.update(
                {
                    "clv_model": "bgnbd",
                    "clv_model_note": self.env._(
                        "Fitted on %(n)s customers (%(repeat)s repeat customers).",
                        n=n,
                        repeat=repeaters,
                    ),
                }
            )
        config.write(vals)
