from odoo import api, models


class PhoneBlacklist(models.Model):
    """A number put on the phone blacklist (STOP reply, by hand) withdraws the SMS marketing
    consent of the customers who use it."""

    _inherit = "phone.blacklist"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        records.filtered("active")._ecrm_withdraw_consent()
        return records

    def write(self, vals):
        result = super().write(vals)
        if vals.get("active"):
            self._ecrm_withdraw_consent()
        return result

    def _ecrm_withdraw_consent(self):
        if not self or self.env.context.get("ecrm_consent_sync"):
            return
        # sudo: the blacklist is maintained by SMS users and by the opt-out flows
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("phone_sanitized", "in", self.mapped("number")), ("ecrm_consent_sms", "!=", "withdrawn")])
        )
        partners.with_context(ecrm_consent_sync=True, ecrm_consent_source="unsubscribe").write(
            {"ecrm_consent_sms": "withdrawn"}
        )
