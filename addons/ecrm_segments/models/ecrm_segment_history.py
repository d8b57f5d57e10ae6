from odoo import fields, models
from odoo.exceptions import UserError


class EcrmSegmentHistory(models.Model):
    """One change of a customer's segment: the events campaigns listen to.

    Append-only: rows are created by the recompute and never changed or deleted, so a
    consumer can process them in ``id`` order and remember the last id it handled. No
    create/write users and dates: ``date`` is when the change was seen, and the recompute
    inserts up to one row per customer per run (each foreign key costs a check per row).
    """

    _name = "ecrm.segment.history"
    _description = "Customer Segment Change"
    _order = "date desc, id desc"
    _log_access = False

    partner_id = fields.Many2one("res.partner", required=True, index=True, ondelete="cascade")
    segment_from_id = fields.Many2one("ecrm.segment", string="From Segment", ondelete="restrict")
    segment_to_id = fields.Many2one("ecrm.segment", string="To Segment", ondelete="restrict", index=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("Segment history is append-only: its rows cannot be changed."))
