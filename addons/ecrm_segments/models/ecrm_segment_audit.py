from odoo import models


class EcrmSegment(models.Model):
    """Segment rules are part of the audit trail."""

    _name = "ecrm.segment"
    _inherit = ["ecrm.segment", "ecrm.audit.mixin"]
    _ecrm_audit_fields = [
        "name",
        "code",
        "sequence",
        "active",
        "company_id",
        "rule_type",
        "r_min",
        "r_max",
        "f_min",
        "f_max",
        "m_min",
        "m_max",
        "domain",
    ]
