from odoo import models


class EcrmHelpdeskSla(models.Model):
    """SLA policies are part of the eCRM audit trail."""

    _name = "ecrm.helpdesk.sla"
    _inherit = ["ecrm.helpdesk.sla", "ecrm.audit.mixin"]
    _ecrm_audit_fields = [
        "name",
        "sequence",
        "active",
        "company_id",
        "team_ids",
        "priority",
        "type_ids",
        "partner_tag_ids",
        "segment_ids",
        "response_hours",
        "resolution_hours",
        "warning_hours",
        "breach_notify",
        "breach_raise_priority",
        "breach_user_id",
    ]
