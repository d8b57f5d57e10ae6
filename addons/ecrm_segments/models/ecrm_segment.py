import ast

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

SCORES = range(1, 6)


class EcrmSegment(models.Model):
    """A named group of customers (an RFM segment such as "Champions", or a custom one).

    Each customer belongs to at most one segment per company; every change of segment is
    written to ``ecrm.segment.history``, which is what campaigns listen to.

    Two kinds of segment:

    - ``rfm``: a box of R, F and M scores (each from ``*_min`` to ``*_max``). The active RFM
      segments of a company (its own plus the shared ones) must cover the 125 combinations
      exactly once: overlaps are refused when saving, gaps when recomputing.
    - ``domain``: the customers matching a filter on contacts. Filter segments are tried
      first, in sequence order; a customer matching none falls into its RFM segment.
    - ``manual`` (the default when created through the API): the recompute never assigns it.
    """

    _name = "ecrm.segment"
    _description = "Customer Segment"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Stable technical key (e.g. champions, at_risk) used by campaigns and the RPC API.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    description = fields.Text(translate=True)
    company_id = fields.Many2one(
        "res.company",
        help="Leave empty to use the segment in every company.",
    )
    rule_type = fields.Selection(
        [("rfm", "RFM scores"), ("domain", "Customer filter"), ("manual", "No rule")],
        string="Rule",
        default="manual",
        required=True,
        help="RFM scores: a box of R/F/M scores. Customer filter: the customers matching a filter. "
        "No rule: the recompute never puts anyone in it (a label other apps may use).",
    )
    r_min = fields.Integer(string="R from", default=1)
    r_max = fields.Integer(string="R to", default=5)
    f_min = fields.Integer(string="F from", default=1)
    f_max = fields.Integer(string="F to", default=5)
    m_min = fields.Integer(string="M from", default=1)
    m_max = fields.Integer(string="M to", default=5)
    domain = fields.Char(
        string="Filter",
        default="[]",
        help="Customers matching this filter are in the segment.",
    )
    customer_count = fields.Integer(compute="_compute_customer_count", string="Customers")

    _code_company_unique = models.UniqueIndex(
        "(code, COALESCE(company_id, 0))",
        "A segment code must be unique per company.",
    )

    def _compute_customer_count(self):
        counts = dict(
            self.env["res.partner"]._read_group([("ecrm_segment_id", "in", self.ids)], ["ecrm_segment_id"], ["__count"])
        )
        for segment in self:
            segment.customer_count = counts.get(segment, 0)

    @api.constrains(
        "rule_type",
        "r_min",
        "r_max",
        "f_min",
        "f_max",
        "m_min",
        "m_max",
        "active",
        "company_id",
    )
    def _check_rfm_rule(self):
        for segment in self.filtered(lambda s: s.rule_type == "rfm"):
            for letter in "rfm":
                low, high = segment[f"{letter}_min"], segment[f"{letter}_max"]
                if not (1 <= low <= high <= 5):
                    raise ValidationError(
                        self.env._(
                            "Segment %(segment)s: %(score)s must go from a score to a higher or equal one between "
                            "1 and 5 (got %(low)s to %(high)s), otherwise the rule is empty.",
                            segment=segment.name,
                            score=letter.upper(),
                            low=low,
                            high=high,
                        )
                    )
        rfm = self.filtered(lambda s: s.rule_type == "rfm" and s.active)
        if any(not s.company_id for s in rfm):
            # sudo: shared rules apply to every company, including those the user cannot see
            companies = self.env["res.company"].sudo().search([("active", "=", True)])
        else:
            companies = rfm.company_id
        for company in companies:
            self._get_rfm_cells(company, check_gaps=False)

    @api.constrains("rule_type", "domain")
    def _check_domain(self):
        for segment in self.filtered(lambda s: s.rule_type == "domain"):
            segment._get_domain_sql()

    def _get_domain_sql(self):
        """The SQL subquery selecting the ids of the partners in this filter segment.

        :raise ValidationError: when the filter is not a valid domain on contacts
        """
        self.ensure_one()
        try:
            domain = ast.literal_eval(self.domain or "[]")
            if not isinstance(domain, (list, tuple)):
                raise TypeError(self.domain)
            # sudo: segment membership must not depend on who runs the recompute
            query = self.env["res.partner"].sudo().with_context(active_test=False)._search(domain)
            sql = query.subselect()
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL("SELECT EXISTS%s", sql))
        except Exception as error:
            raise ValidationError(
                self.env._(
                    "Segment %(segment)s: the filter %(domain)s is not valid (%(error)s).",
                    segment=self.name,
                    domain=self.domain,
                    error=error,
                )
            ) from error
        return sql

    @api.model
    def _get_rfm_cells(self, company, check_gaps=True):
        """Map each of the 125 (R, F, M) cells of ``company`` to its RFM segment.

        :return: list of 125 segment ids, index ``(r-1)*25 + (f-1)*5 + (m-1)``
        :raise ValidationError: two segments share a cell, or (``check_gaps``) a cell has none
        """
        segments = self.sudo().search(  # sudo: the rules must be checked whatever the user sees
            [("rule_type", "=", "rfm"), ("company_id", "in", [company.id, False])]
        )
        cells = [None] * 125
        for segment in segments:
            for r in range(segment.r_min, segment.r_max + 1):
                for f in range(segment.f_min, segment.f_max + 1):
                    for m in range(segment.m_min, segment.m_max + 1):
                        index = (r - 1) * 25 + (f - 1) * 5 + (m - 1)
                        if cells[index] is not None:
                            other = self.browse(cells[index])
                            raise ValidationError(
                                self.env._(
                                    "The segments %(first)s and %(second)s overlap: a customer with R=%(r)s F=%(f)s "
                                    "M=%(m)s would be in both (company %(company)s). Narrow one of them first.",
                                    first=other.name,
                                    second=segment.name,
                                    r=r,
                                    f=f,
                                    m=m,
                                    company=company.name,
                                )
                            )
                        cells[index] = segment.id
        if check_gaps and None in cells:
            index = cells.index(None)
            raise ValidationError(
                self.env._(
                    "No RFM segment covers R=%(r)s F=%(f)s M=%(m)s in company %(company)s (%(count)s of the 125 "
                    "combinations are uncovered). Widen a segment so every customer gets one.",
                    r=index // 25 + 1,
                    f=index // 5 % 5 + 1,
                    m=index % 5 + 1,
                    company=company.name,
                    count=cells.count(None),
                )
            )
        return cells

    @api.model
    def _get_rfm_cell_map(self, company):
        """The complete cell map of ``company``; raises a ValidationError on overlaps and gaps."""
        return self._get_rfm_cells(company, check_gaps=True)

    @api.model
    def _get_by_code(self, code, company=None):
        """The active segment with ``code`` for ``company`` (or shared by all companies)."""
        company = company or self.env.company
        return self.search(
            [("code", "=", code), ("company_id", "in", [company.id, False])],
            order="company_id",
            limit=1,
        )

    def action_open_customers(self):
        """The customers currently in this segment (current company)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.res_partner_action_ecrm_customer")
        action["domain"] = [("ecrm_segment_id", "=", self.id)]
        action["context"] = {"default_customer_rank": 1}
        action["name"] = self.name
        return action

    def action_export_xlsx(self):
        """Open the export wizard for this segment."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Export %(segment)s", segment=self.name),
            "res_model": "ecrm.segment.export",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_segment_id": self.id},
        }
