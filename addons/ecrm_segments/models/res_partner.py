from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from .ecrm_partner_score import STAGES

# score fields shown on the customer, read from the current company's score row
SCORE_FIELDS = {
    "ecrm_order_count": "frequency",
    "ecrm_order_total": "monetary",
    "ecrm_refunded": "refunded",
    "ecrm_first_order_date": "first_order_date",
    "ecrm_last_order_date": "last_order_date",
    "ecrm_aov": "aov",
    "ecrm_recency_days": "recency_days",
    "ecrm_r_score": "r_score",
    "ecrm_f_score": "f_score",
    "ecrm_m_score": "m_score",
    "ecrm_rfm_code": "rfm_code",
    "ecrm_clv_historic": "clv_historic",
    "ecrm_clv_simple": "clv_simple",
    "ecrm_clv_predicted": "clv_predicted",
    "ecrm_expected_purchases": "expected_purchases",
    "ecrm_p_alive": "p_alive",
    "ecrm_churn_risk": "churn_risk",
    "ecrm_value_at_stake": "value_at_stake",
    "ecrm_clv_model": "clv_model",
}


class ResPartner(models.Model):
    _inherit = "res.partner"

    # The current company's segment and stage: those of the customer's score row, or of its
    # membership row when it has no score (both written by the recompute); the customers list
    # filters, groups and sorts by them (see _field_to_sql).
    ecrm_segment_id = fields.Many2one(
        "ecrm.segment",
        string="Segment",
        compute="_compute_ecrm_segment",
        search="_search_ecrm_segment_id",
    )
    ecrm_stage = fields.Selection(
        STAGES,
        string="Lifecycle Stage",
        compute="_compute_ecrm_segment",
        search="_search_ecrm_stage",
    )

    ecrm_score_id = fields.Many2one("ecrm.partner.score", compute="_compute_ecrm_scores", string="Scores")
    ecrm_currency_id = fields.Many2one("res.currency", compute="_compute_ecrm_scores", string="eCRM Currency")
    ecrm_order_count = fields.Integer(compute="_compute_ecrm_scores", string="Orders")
    ecrm_order_total = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Net Spend",
        currency_field="ecrm_currency_id",
    )
    ecrm_refunded = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Refunded",
        currency_field="ecrm_currency_id",
    )
    ecrm_first_order_date = fields.Date(compute="_compute_ecrm_scores", string="First Order")
    ecrm_last_order_date = fields.Date(compute="_compute_ecrm_scores", string="Last Order")
    ecrm_aov = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Average Order Value",
        currency_field="ecrm_currency_id",
    )
    ecrm_recency_days = fields.Integer(compute="_compute_ecrm_scores", string="Days Since Last Order")
    ecrm_r_score = fields.Integer(compute="_compute_ecrm_scores", string="R")
    ecrm_f_score = fields.Integer(compute="_compute_ecrm_scores", string="F")
    ecrm_m_score = fields.Integer(compute="_compute_ecrm_scores", string="M")
    ecrm_rfm_code = fields.Char(compute="_compute_ecrm_scores", string="RFM")
    ecrm_clv_historic = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Historic CLV",
        currency_field="ecrm_currency_id",
    )
    ecrm_clv_simple = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Simple CLV",
        currency_field="ecrm_currency_id",
    )
    ecrm_clv_predicted = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Predicted CLV",
        currency_field="ecrm_currency_id",
    )
    ecrm_expected_purchases = fields.Float(compute="_compute_ecrm_scores", string="Expected Purchases", digits=(16, 2))
    ecrm_p_alive = fields.Float(compute="_compute_ecrm_scores", string="P(alive)", digits=(16, 2))
    ecrm_churn_risk = fields.Float(compute="_compute_ecrm_scores", string="Churn Risk", digits=(16, 2))
    ecrm_value_at_stake = fields.Monetary(
        compute="_compute_ecrm_scores",
        string="Value at Stake",
        currency_field="ecrm_currency_id",
    )
    ecrm_clv_model = fields.Selection(
        [("bgnbd", "BG/NBD + Gamma-Gamma"), ("simple", "Simple formula")],
        compute="_compute_ecrm_scores",
        string="CLV Model",
    )
    ecrm_sale_order_count = fields.Integer(compute="_compute_ecrm_sale_order_count", string="Confirmed Orders")

    @api.depends_context("company")
    def _compute_ecrm_segment(self):
        ids = [id_ for id_ in self._origin.ids if id_]
        domain = [("partner_id", "in", ids), ("company_id", "=", self.env.company.id)]
        # sudo: the segment of a customer is shown to whoever may read the customer
        current = {}
        for model in ("ecrm.partner.score", "ecrm.segment.member"):  # one of the two rows at most
            for row in self.env[model].sudo().search_fetch(domain, ["partner_id", "segment_id", "stage"]):
                current[row.partner_id.id] = (row.segment_id.id, row.stage)
            ids = [id_ for id_ in ids if id_ not in current]
            if not ids:
                break
            domain = [("partner_id", "in", ids), ("company_id", "=", self.env.company.id)]
        Segment = self.env["ecrm.segment"]
        for partner in self:
            segment_id, stage = current.get(partner._origin.id, (False, False))
            partner.ecrm_segment_id = Segment.browse(segment_id)
            partner.ecrm_stage = stage

    def _ecrm_member_domain(self, fname, operator, value):
        """Customers whose score row, or membership row when they have no score, in the current
        company matches ``(fname, operator, value)``; a contact with neither has no segment and
        no stage. A customer has at most one of the two rows (the recompute keeps them apart)."""
        if operator.startswith("not ") or operator in ("!=", "<>"):
            return NotImplemented  # the ORM negates the positive condition
        company = [("company_id", "=", self.env.company.id)]
        Score = self.env["ecrm.partner.score"].sudo()
        Member = self.env["ecrm.segment.member"].sudo()
        condition = company + [(fname, operator, value)]
        domain = Domain("id", "in", Score._search(condition).subselect("partner_id")) | Domain(
            "id", "in", Member._search(condition).subselect("partner_id")
        )
        if operator == "in" and any(v is False or v is None for v in value):
            domain |= Domain("id", "not in", Score._search(company).subselect("partner_id")) & Domain(
                "id", "not in", Member._search(company).subselect("partner_id")
            )
        return domain

    def _search_ecrm_segment_id(self, operator, value):
        return self._ecrm_member_domain("segment_id", operator, value)

    def _search_ecrm_stage(self, operator, value):
        return self._ecrm_member_domain("stage", operator, value)

    def _field_to_sql(self, alias, field_expr, query=None):
        # group by and sort on the current company's score or membership row
        if field_expr in ("ecrm_segment_id", "ecrm_stage"):
            self.env["ecrm.partner.score"].flush_model()
            self.env["ecrm.segment.member"].flush_model()
            column = SQL.identifier("segment_id" if field_expr == "ecrm_segment_id" else "stage")
            return SQL(
                """COALESCE(
                    (SELECT sc.%(column)s FROM ecrm_partner_score sc WHERE sc.partner_id = %(id)s AND sc.company_id = %(company)s),
                    (SELECT m.%(column)s FROM ecrm_segment_member m WHERE m.partner_id = %(id)s AND m.company_id = %(company)s)
                )""",
                column=column,
                id=SQL.identifier(alias, "id"),
                company=self.env.company.id,
            )
        return super()._field_to_sql(alias, field_expr, query)

    @api.depends_context("company")
    def _compute_ecrm_scores(self):
        """All score fields of the recordset from one search on the current company's scores."""
        scores = self.env["ecrm.partner.score"].search(
            [("partner_id", "in", self.ids), ("company_id", "=", self.env.company.id)]
        )
        by_partner = {score.partner_id.id: score for score in scores}
        currency = self.env.company.currency_id
        for partner in self:
            score = by_partner.get(partner.id)
            partner.ecrm_score_id = score
            partner.ecrm_currency_id = currency
            for fname, score_fname in SCORE_FIELDS.items():
                partner[fname] = score[score_fname] if score else False

    @api.depends_context("company")
    def _compute_ecrm_sale_order_count(self):
        """Confirmed orders of the customers' commercial entities, live, in one _read_group."""
        groups = self.env["sale.order"]._read_group(
            [
                (
                    "partner_id.commercial_partner_id",
                    "in",
                    self.commercial_partner_id.ids,
                ),
                ("state", "=", "sale"),
            ],
            ["partner_id"],
            ["__count"],
        )
        counts = {}
        for partner, count in groups:
            counts[partner.commercial_partner_id.id] = counts.get(partner.commercial_partner_id.id, 0) + count
        for partner in self:
            partner.ecrm_sale_order_count = counts.get(partner.commercial_partner_id.id, 0)

    def action_ecrm_open_orders(self):
        """The customer's confirmed sales orders."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [
            ("partner_id", "child_of", self.commercial_partner_id.id),
            ("state", "=", "sale"),
        ]
        action["context"] = {"create": False}
        return action

    def action_ecrm_open_history(self):
        """The customer's segment changes."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.ecrm_segment_history_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {}
        return action

    def _ecrm_notify_event(self, event, **values):
        """Tell the eCRM addons that ``event`` happened to the customers in ``self``.

        The documented meeting point of the sibling addons: an addon that detects an event
        calls it, an addon that reacts to events (ecrm_marketing enrols customers in the
        campaigns triggered by it) overrides it and calls ``super()``. Neither needs the
        other installed. Events fired by the eCRM addons:

        - ``segments.segment_entered`` / ``segments.segment_exited``: ``history`` (the
          ``ecrm.segment.history`` rows);
        - ``loyalty.tier_changed``: ``tier_from``, ``tier_to``;
        - ``loyalty.points_expiring``: ``points``, ``expiry_date``;
        - ``helpdesk.low_rating``: ``ticket``, ``rating``.

        Implementations must be idempotent: a re-run of the job that fired the event may
        fire it again for the same records.

        :param str event: the event key
        :param values: event details, as listed above
        :return: None
        """
        return
