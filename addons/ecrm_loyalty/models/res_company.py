from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    ecrm_tier_basis = fields.Selection(
        [("spend", "Qualifying spend"), ("points", "Points earned")],
        string="Tier Basis",
        default="spend",
    )
    ecrm_tier_window_days = fields.Integer("Tier Window (days)", default=365)
    ecrm_tier_grace_days = fields.Integer(
        "Downgrade Grace (days)",
        default=30,
        help="A customer below their tier keeps it this long after the review.",
    )
