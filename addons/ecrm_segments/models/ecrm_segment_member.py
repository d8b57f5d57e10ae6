from odoo import fields, models

from .ecrm_partner_score import STAGES


class EcrmSegmentMember(models.Model):
    """A customer's current segment and lifecycle stage in one company.

    Written only by the recompute (one set-based statement per batch of customers, together with
    the segment history), read through ``res.partner.ecrm_segment_id`` and ``ecrm_stage``, which
    search, group and sort on it. Kept apart from the contacts so that the recompute does not
    rewrite every row of ``res_partner`` (a wide table with many indexes) when segments change.
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
