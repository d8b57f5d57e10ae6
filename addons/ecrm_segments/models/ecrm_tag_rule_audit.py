from odoo import models


class EcrmTagRule(models.Model):
    """Tag rules are part of the audit trail."""

    _name = "ecrm.tag.rule"
    _inherit = ["ecrm.tag.rule", "ecrm.audit.mixin"]
    _ecrm_audit_fields = [
        "name",
        "active",
        "company_id",
        "tag_id",
        "partner_domain",
        "product_ids",
        "categ_ids",
        "bought_days",
        "min_orders",
        "min_spend",
        "min_discount_share",
        "new_product_days",
    ]
