from odoo import fields, models


class EcrmHelpdeskTag(models.Model):
    """A free label agents put on tickets."""

    _name = "ecrm.helpdesk.tag"
    _description = "Helpdesk Ticket Tag"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer()
    active = fields.Boolean(default=True)
