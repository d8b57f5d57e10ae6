from odoo import fields, models


class EcrmLoyaltyTier(models.Model):
    """A VIP tier reached by qualifying spend or points over the company's rolling window."""

    _name = "ecrm.loyalty.tier"
    _description = "Loyalty Tier"
    _order = "threshold, id"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    threshold = fields.Float(
        "Qualifying Amount",
        required=True,
        help="Spend (untaxed, company currency) or points earned over the rolling window needed for the tier, "
        "depending on the company's tier basis.",
    )
    multiplier = fields.Float("Earning Multiplier", default=1.0, required=True)
    pricelist_id = fields.Many2one(
        "product.pricelist",
        help="Pricelist given to the tier's customers.",
    )
    category_id = fields.Many2one(
        "res.partner.category",
        string="Contact Tag",
        help="Tag put on the tier's customers so that other apps can use the tier.",
    )
    color = fields.Integer()
    partner_count = fields.Integer(compute="_compute_partner_count")

    _multiplier_positive = models.Constraint("CHECK(multiplier > 0)", "The earning multiplier must be positive.")
    _threshold_positive = models.Constraint("CHECK(threshold >= 0)", "The qualifying amount cannot be negative.")

    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]._read_group([("ecrm_tier_id", "in", self.ids)], ["ecrm_tier_id"], ["__count"])
        )
        for tier in self:
            tier.partner_count = counts.get(tier, 0)

    def action_open_partners(self):
        self.ensure_one()
        return {
            "name": self.name,
            "type": "ir.actions.act_window",
            "res_model": "res.partner",
            "view_mode": "list,form",
            "domain": [("ecrm_tier_id", "=", self.id)],
        }
