from odoo import fields, models


class EcrmHelpdeskType(models.Model):
    """What a ticket is about (question, complaint, return, ...): used to route SLAs and reports."""

    _name = "ecrm.helpdesk.type"
    _description = "Helpdesk Ticket Type"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
