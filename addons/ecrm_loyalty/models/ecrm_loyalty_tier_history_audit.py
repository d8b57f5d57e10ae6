from odoo import api, models


class EcrmLoyaltyTierHistory(models.Model):
    """Every change of a customer's tier is part of the eCRM audit trail."""

    _inherit = "ecrm.loyalty.tier.history"

    @api.model_create_multi
    def create(self, vals_list):
        rows = super().create(vals_list)
        self.env["ecrm.audit.log"]._ecrm_log(
            [
                {
                    "action": "tier",
                    "res_model": "res.partner",
                    "res_id": row.partner_id.id,
                    "field_name": "ecrm_tier_id",
                    "old_value": row.tier_from_id.display_name or "",
                    "new_value": row.tier_to_id.display_name or "",
                    "note": row.direction,
                    "company_id": (row.company_id or self.env.company).id,
                }
                for row in rows
            ]
        )
        return rows
