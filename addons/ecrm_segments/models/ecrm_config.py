from itertools import pairwise

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


def parse_thresholds(text):
    """``"30, 90, 180, 365"`` -> ``[30.0, 90.0, 180.0, 365.0]``; None when not 4 increasing numbers >= 0."""
    try:
        values = [float(part) for part in (text or "").replace(";", ",").split(",") if part.strip()]
    except ValueError:
        return None
    if len(values) != 4 or any(v < 0 for v in values) or any(b <= a for a, b in pairwise(values)):
        return None
    return values


class EcrmConfig(models.Model):
    """How one company scores its customers, and the state of its last recompute and CLV fit.

    One record per company, created on demand by :meth:`_get_for_company`.
    """

    _name = "ecrm.config"
    _description = "eCRM Scoring Configuration"
    _rec_name = "company_id"
    _order = "company_id"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        ondelete="cascade",
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")

    # which orders count
    window_days = fields.Integer(
        string="Window (days)",
        default=0,
        help="Only orders of the last N days count. 0 counts the whole history.",
    )
    order_filter = fields.Selection(
        [("confirmed", "All confirmed orders"), ("locked", "Locked orders only")],
        default="confirmed",
        required=True,
        help="Confirmed sales orders always count; cancelled orders and quotations never do.",
    )
    team_ids = fields.Many2many(
        "crm.team",
        string="Sales Teams",
        help="Only orders of these sales teams count. Leave empty to count every team.",
    )
    # scoring
    scoring_method = fields.Selection(
        [("quintile", "Quintiles"), ("threshold", "Fixed thresholds")],
        default="quintile",
        required=True,
        help="Quintiles: a customer's score is 1 + floor(5 x customers with a strictly worse value / customers); "
        "equal values always get the same score. Fixed thresholds: the four limits below.",
    )
    recency_thresholds = fields.Char(
        default="30, 90, 180, 365",
        help="Four increasing day counts: R = 5 up to the first, 4 up to the second, ... 1 above the fourth.",
    )
    frequency_thresholds = fields.Char(
        default="2, 3, 5, 8",
        help="Four increasing order counts: F = 2 from the first, 3 from the second, ... 5 from the fourth.",
    )
    monetary_thresholds = fields.Char(
        default="100, 250, 500, 1000",
        help="Four increasing amounts (company currency): M = 2 from the first, ... 5 from the fourth.",
    )
    # lifecycle
    new_days = fields.Integer(default=30, help="A customer whose first order is at most this old is New.")
    at_risk_days = fields.Integer(default=180, help="A customer without order for longer than this is At Risk.")
    churn_days = fields.Integer(default=365, help="A customer without order for longer than this has Churned.")
    # lifetime value
    clv_horizon_days = fields.Integer(string="CLV Horizon (days)", default=365)
    clv_lifespan_years = fields.Float(string="Expected Lifespan (years)", default=3.0)
    fit_min_customers = fields.Integer(string="Minimum Customers for BG/NBD", default=200)
    fit_interval_days = fields.Integer(
        string="Refit Every (days)",
        default=7,
        help="The nightly recompute refits BG/NBD and Gamma-Gamma when the data changed and the last fit is at "
        "least this old (the parameters move slowly), or when the number of customers changed by more than 10%. "
        "Refit CLV models forces a fit.",
    )
    fit_min_repeat = fields.Integer(string="Minimum Repeat Customers for BG/NBD", default=50)

    # results of the last fit
    clv_model = fields.Selection(
        [("bgnbd", "BG/NBD + Gamma-Gamma"), ("simple", "Simple formula")],
        string="CLV Model in Use",
        readonly=True,
    )
    clv_model_note = fields.Char(string="Why this Model", readonly=True)
    bgnbd_r = fields.Float(string="r", digits=(16, 6), readonly=True)
    bgnbd_alpha = fields.Float(string="alpha", digits=(16, 6), readonly=True)
    bgnbd_a = fields.Float(string="a", digits=(16, 6), readonly=True)
    bgnbd_b = fields.Float(string="b", digits=(16, 6), readonly=True)
    bgnbd_log_likelihood = fields.Float(string="BG/NBD Log-likelihood", digits=(16, 2), readonly=True)
    gg_p = fields.Float(string="p", digits=(16, 6), readonly=True)
    gg_q = fields.Float(string="q", digits=(16, 6), readonly=True)
    gg_gamma = fields.Float(string="gamma", digits=(16, 6), readonly=True)
    gg_log_likelihood = fields.Float(string="Gamma-Gamma Log-likelihood", digits=(16, 2), readonly=True)
    fit_date = fields.Datetime(readonly=True)
    fit_customers = fields.Integer(string="Customers in Fit", readonly=True)
    fit_repeat_customers = fields.Integer(string="Repeat Customers in Fit", readonly=True)
    fit_digest = fields.Char(readonly=True, copy=False)

    # last recompute
    last_run_date = fields.Datetime(string="Last Recompute", readonly=True)
    last_run_day = fields.Date(readonly=True, copy=False, help="Day of the last complete nightly recompute.")
    last_run_duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 2))
    last_run_customers = fields.Integer(string="Customers Scored", readonly=True)
    last_run_changes = fields.Integer(string="Segment Changes", readonly=True)
    run_state = fields.Selection(
        [("idle", "Idle"), ("queued", "Queued"), ("running", "Running")],
        default="idle",
        readonly=True,
    )
    run_progress = fields.Float(string="Progress (%)", readonly=True)
    run_done = fields.Integer(
        string="Customers Done", readonly=True, help="Customers handled by the running recompute."
    )
    run_total = fields.Integer(string="Customers to Do", readonly=True, help="Customers of the running recompute.")
    last_run_error = fields.Char(
        string="Last Error", readonly=True, help="Why the last nightly run skipped this company."
    )

    _company_unique = models.Constraint("UNIQUE(company_id)", "Each company has one eCRM scoring configuration.")

    @api.constrains(
        "recency_thresholds",
        "frequency_thresholds",
        "monetary_thresholds",
        "scoring_method",
    )
    def _check_thresholds(self):
        labels = {
            "recency_thresholds": self.env._("Recency thresholds"),
            "frequency_thresholds": self.env._("Frequency thresholds"),
            "monetary_thresholds": self.env._("Monetary thresholds"),
        }
        for config in self.filtered(lambda c: c.scoring_method == "threshold"):
            for fname, label in labels.items():
                if parse_thresholds(config[fname]) is None:
                    raise ValidationError(
                        self.env._(
                            "%(label)s must be four increasing numbers separated by commas, e.g. 30, 90, 180, 365 "
                            "(got %(value)r).",
                            label=label,
                            value=config[fname] or "",
                        )
                    )

    @api.constrains(
        "window_days",
        "new_days",
        "at_risk_days",
        "churn_days",
        "clv_horizon_days",
        "clv_lifespan_years",
    )
    def _check_periods(self):
        for config in self:
            if (
                min(
                    config.new_days,
                    config.at_risk_days,
                    config.churn_days,
                    config.clv_horizon_days,
                )
                <= 0
            ):
                raise ValidationError(self.env._("The lifecycle periods and the CLV horizon must be positive."))
            if config.window_days < 0 or config.clv_lifespan_years <= 0 or config.fit_interval_days < 0:
                raise ValidationError(
                    self.env._(
                        "The window and the refit interval cannot be negative and the lifespan must be positive."
                    )
                )
            if not config.new_days < config.at_risk_days < config.churn_days:
                raise ValidationError(
                    self.env._(
                        "The periods must satisfy New < At Risk < Churned (got %(new)s, %(risk)s, %(churn)s days).",
                        new=config.new_days,
                        risk=config.at_risk_days,
                        churn=config.churn_days,
                    )
                )
            if config.window_days and config.window_days <= config.churn_days:
                raise ValidationError(
                    self.env._(
                        "The window (%(window)s days) must be longer than the churn period (%(churn)s days), "
                        "or 0 for the whole history.",
                        window=config.window_days,
                        churn=config.churn_days,
                    )
                )

    @api.model
    def _get_for_company(self, company=None):
        """The configuration of ``company`` (default: the current one), created with defaults if missing."""
        company = company or self.env.company
        # sudo: reading scores needs the configuration even for users who cannot create it
        config = self.sudo().search([("company_id", "=", company.id)], limit=1)
        if not config:
            config = self.sudo().create({"company_id": company.id})
        return config.with_env(self.env)

    def action_recompute_now(self):
        """Start the recompute of these companies in the background (the recompute scheduled
        action, triggered now); the screen follows its progress and the user may leave it.

        A company whose recompute is already queued or running is not started again.

        :return: a notification (started / already running), then a reload of the screen
        """
        self.env["ecrm.partner.score"]._check_manager()
        busy = self.filtered(lambda c: c._ecrm_run_is_busy())
        todo = self - busy
        if todo:
            # sudo: the run's bookkeeping fields are readonly, managers may not edit crons
            todo.sudo().write(
                {
                    "run_state": "queued",
                    "run_progress": 0.0,
                    "run_done": 0,
                    "run_total": 0,
                    "last_run_day": False,
                    "last_run_error": False,
                }
            )
            self.env.ref("ecrm_segments.ir_cron_ecrm_recompute").sudo()._trigger()
        if busy and not todo:
            companies = ", ".join(busy.company_id.mapped("name"))
            title = self.env._("Recompute already running")
            message = self.env._(
                "A recompute of %(companies)s is already under way; it was not started again.", companies=companies
            )
            kind = "warning"
        else:
            companies = ", ".join(todo.company_id.mapped("name"))
            title = self.env._("Recompute started")
            message = self.env._(
                "The recompute of %(companies)s runs in the background; its progress shows on the Scoring "
                "Settings screen. You can leave this page.",
                companies=companies,
            )
            kind = "success"
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_recompute_background(self):
        """Same as :meth:`action_recompute_now` (kept for callers of the former button)."""
        return self.action_recompute_now()

    def _ecrm_run_is_busy(self):
        """Whether this company's background recompute is queued or running right now.

        A state left at queued/running by a worker that died is not busy: the recompute
        scheduled action is then neither due (no pending trigger) nor locked by a worker.
        """
        self.ensure_one()
        if self.run_state not in ("queued", "running"):
            return False
        cron = self.env.ref("ecrm_segments.ir_cron_ecrm_recompute").sudo()
        self.env.cr.execute(SQL("SELECT 1 FROM ir_cron_trigger WHERE cron_id = %s LIMIT 1", cron.id))
        if self.env.cr.fetchone():
            return True
        # a worker running the job holds a lock on the cron's row; ours goes with the savepoint
        self.env.cr.execute(SQL("SAVEPOINT ecrm_run_probe"))
        self.env.cr.execute(SQL("SELECT id FROM ir_cron WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", cron.id))
        locked = not self.env.cr.fetchone()
        self.env.cr.execute(SQL("ROLLBACK TO SAVEPOINT ecrm_run_probe"))
        self.env.cr.execute(SQL("RELEASE SAVEPOINT ecrm_run_probe"))
        return locked

    def action_fit_now(self):
        """Refit the CLV models of these companies and refresh CLV and churn risk."""
        self.env["ecrm.partner.score"].fit(company_ids=self.company_id.ids, force=True)
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def action_check_segments(self):
        """Check that the RFM segment rules of these companies cover every R/F/M cell exactly once."""
        for config in self:
            self.env["ecrm.segment"]._get_rfm_cell_map(config.company_id)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Segment rules are complete"),
                "message": self.env._("Every R/F/M combination belongs to exactly one segment."),
                "type": "success",
            },
        }

    def _get_fit_params(self):
        """The fitted parameters as a dict, or False while the simple formula is in use."""
        self.ensure_one()
        if self.clv_model != "bgnbd":
            return False
        return {
            "r": self.bgnbd_r,
            "alpha": self.bgnbd_alpha,
            "a": self.bgnbd_a,
            "b": self.bgnbd_b,
            "bgnbd_log_likelihood": self.bgnbd_log_likelihood,
            "p": self.gg_p,
            "q": self.gg_q,
            "gamma": self.gg_gamma,
            "gg_log_likelihood": self.gg_log_likelihood,
            "fit_date": fields.Datetime.to_string(self.fit_date),
            "customers": self.fit_customers,
            "repeat_customers": self.fit_repeat_customers,
        }

    @api.model
    def action_open_current(self):
        """Open the configuration of the current company (menu entry)."""
        config = self._get_for_company()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Scoring Settings"),
            "res_model": "ecrm.config",
            "res_id": config.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }
