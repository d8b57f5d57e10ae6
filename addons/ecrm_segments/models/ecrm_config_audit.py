from odoo import api, fields, models

AUDITED_SETTINGS = [
    "window_days",
    "order_filter",
    "team_ids",
    "scoring_method",
    "recency_thresholds",
    "frequency_thresholds",
    "monetary_thresholds",
    "new_days",
    "at_risk_days",
    "churn_days",
    "clv_horizon_days",
    "clv_lifespan_years",
    "fit_min_customers",
    "fit_min_repeat",
    "fit_interval_days",
]


class EcrmConfig(models.Model):
    """Scoring settings changes go to the audit trail; the privacy settings of the company
    are edited here too (eCRM › Configuration › Privacy Settings)."""

    _name = "ecrm.config"
    _inherit = ["ecrm.config", "ecrm.audit.mixin"]
    _ecrm_audit_fields = AUDITED_SETTINGS

    consent_required = fields.Boolean(
        related="company_id.ecrm_consent_required", readonly=False, string="Marketing Requires Explicit Consent"
    )
    consent_link_days = fields.Integer(
        related="company_id.ecrm_consent_link_days", readonly=False, string="Consent Link Validity (days)"
    )

    def write(self, vals):
        # the privacy settings live on the company, which eCRM managers may not edit: write them
        # there in sudo (the configuration's record rule already limits which companies), audited here
        privacy = {"consent_required": "ecrm_consent_required", "consent_link_days": "ecrm_consent_link_days"}
        company_vals = {privacy[fname]: vals[fname] for fname in privacy if fname in vals}
        if not company_vals:
            return super().write(vals)
        changed = [fname for fname in privacy if fname in vals]
        before = self._ecrm_audit_snapshot(changed)
        result = super().write({fname: value for fname, value in vals.items() if fname not in privacy})
        self.check_access("write")
        self.company_id.sudo().write(company_vals)
        self.env["ecrm.audit.log"]._ecrm_log(self._ecrm_audit_rows("write", before, self._ecrm_audit_snapshot(changed)))
        return result

    @api.model
    def action_open_privacy(self):
        """Open the privacy settings of the current company (menu entry)."""
        config = self._get_for_company()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Privacy Settings"),
            "res_model": "ecrm.config",
            "res_id": config.id,
            "view_mode": "form",
            "views": [(self.env.ref("ecrm_segments.ecrm_config_view_form_privacy").id, "form")],
            "target": "current",
        }
