from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    ecrm_tier_basis = fields.Selection(related="company_id.ecrm_tier_basis", readonly=False)
    ecrm_tier_window_days = fields.Integer(related="company_id.ecrm_tier_window_days", readonly=False)
    ecrm_tier_grace_days = fields.Integer(related="company_id.ecrm_tier_grace_days", readonly=False)
