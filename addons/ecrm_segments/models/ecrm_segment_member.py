from odoo import fields, models

from .ecrm_partner_score import STAGES


class EcrmSegmentMember(models.Model):
    """The current segment and lifecycle stage, in one company, of a customer without a score
    there (a prospect: a filter segment it matches, else none; stage ``prospect``), and of a
    customer whose orders stopped counting (its score row is gone).

    A scored customer's segment and stage are those of its score row (``ecrm.partner.score``);
    a customer has one of the two rows at most. Both are written only by the recompute, with
    the segment history in the same statement, and read through ``res.partner.ecrm_segment_id``
    and ``ecrm_stage``.
    """

    _name = "ecrm.segment.member"
    _description = "Customer Segment Membership"
    _order = "company_id, partner_id"
    _rec_name = "partner_id"
    _log_access = False

    partner_id = fields.Many2one("res.partner", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    segment_id = fields.Many2one("ecrm.segment", readonly=True, ondelete="set null", index="btree_not_null")
    stage = fields.Selection(STAGES, readonly=True)

    _partner_company_unique = models.UniqueIndex(
        "(partner_id, company_id)",
        "A customer has one current segment per company.",
    )
