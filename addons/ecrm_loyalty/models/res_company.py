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

    def _ecrm_loyalty_tz(self):
        """The time zone of the company's loyalty calendar: the company's own (its contact's) time
        zone, else the ``loyalty.timezone`` system parameter Odoo's loyalty uses, else UTC."""
        self.ensure_one()
        return (
            self.sudo().partner_id.tz or self.env["ir.config_parameter"].sudo().get_param("loyalty.timezone") or "UTC"
        )

    def _ecrm_loyalty_today(self):
        """Today on the company's loyalty calendar. Every loyalty date (ledger lines, lots, expiry,
        tiers, the liability's as-of date) is on this one calendar, whoever acts and in whatever
        time zone: the liability as of a day then counts exactly the lines of that day."""
        company = self[:1] or self.env.company
        return fields.Date.context_today(company.with_context(tz=company._ecrm_loyalty_tz()))
