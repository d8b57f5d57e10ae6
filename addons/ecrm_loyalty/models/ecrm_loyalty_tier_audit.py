from odoo import models


class EcrmLoyaltyTier(models.Model):
    """Tier settings (thresholds, multipliers) are part of the eCRM audit trail."""

    _name = "ecrm.loyalty.tier"
    _inherit = ["ecrm.loyalty.tier", "ecrm.audit.mixin"]
    _ecrm_audit_fields = ["name", "active", "threshold", "multiplier", "pricelist_id", "category_id", "company_id"]
