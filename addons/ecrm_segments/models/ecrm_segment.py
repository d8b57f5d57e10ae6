from odoo import api, fields, models


class EcrmSegment(models.Model):
    """A named group of customers (an RFM segment such as "Champions", or a custom one).

    Each customer belongs to at most one segment per company; every change of segment is
    written to ``ecrm.segment.history``, which is what campaigns listen to.
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

    _code_company_unique = models.UniqueIndex(
        "(code, COALESCE(company_id, 0))",
        "A segment code must be unique per company.",
    )

    @api.model
    def _get_by_code(self, code, company=None):
        """The active segment with ``code`` for ``company`` (or shared by all companies)."""
        company = company or self.env.company
        return self.search(
            [("code", "=", code), ("company_id", "in", [company.id, False])],
            order="company_id",
            limit=1,
        )
