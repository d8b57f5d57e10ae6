from odoo import api, fields, models
from odoo.exceptions import UserError


class EcrmLoyaltyTierHistory(models.Model):
    """Append-only record of a customer's tier changes."""

    _name = "ecrm.loyalty.tier.history"
    _description = "Loyalty Tier History"
    _order = "date desc, id desc"

    partner_id = fields.Many2one("res.partner", required=True, readonly=True, index=True, ondelete="cascade")
    tier_from_id = fields.Many2one("ecrm.loyalty.tier", string="From", readonly=True, ondelete="restrict")
    tier_to_id = fields.Many2one("ecrm.loyalty.tier", string="To", readonly=True, ondelete="restrict")
    direction = fields.Selection([("up", "Upgrade"), ("down", "Downgrade")], required=True, readonly=True)
    date = fields.Date(required=True, readonly=True, default=lambda self: self.env.company._ecrm_loyalty_today())
    qualifying_amount = fields.Float(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True, default=lambda self: self.env.company, index=True)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get("ecrm_ledger_engine"):
            raise UserError(self.env._("Tier history is written by the tier review only."))
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("Tier history is append-only."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Tier history is append-only."))
