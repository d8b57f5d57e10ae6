from odoo import api, models


class MailBlacklist(models.Model):
    """An address put on the blacklist (unsubscribe link, by hand, import) withdraws the
    email marketing consent of the customers who use it."""

    _inherit = "mail.blacklist"

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
        # sudo: the blacklist is maintained by mailing users and by the unsubscribe page
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("email_normalized", "in", self.mapped("email")), ("ecrm_consent_email", "!=", "withdrawn")])
        )
        partners.with_context(ecrm_consent_sync=True, ecrm_consent_source="unsubscribe").write(
            {"ecrm_consent_email": "withdrawn"}
        )
