from odoo import api, models


class EcrmBlacklistConsentMixin(models.AbstractModel):
    """A blacklist entry (email or phone) that withdraws the marketing consent of the customers
    who use its address. The inheriting blacklist names the partner field its entries match, the
    field of the entry holding the address and the consent it withdraws."""

    _name = "ecrm.blacklist.consent.mixin"
    _description = "Blacklist Withdrawing Marketing Consent"

    _ecrm_partner_field = None  # e.g. "email_normalized"
    _ecrm_address_field = None  # e.g. "email"
    _ecrm_consent_field = None  # e.g. "ecrm_consent_email"

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
        # sudo: blacklists are maintained by mailing and SMS users and by the opt-out flows
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    (self._ecrm_partner_field, "in", self.mapped(self._ecrm_address_field)),
                    (self._ecrm_consent_field, "!=", "withdrawn"),
                ]
            )
        )
        partners.with_context(ecrm_consent_sync=True, ecrm_consent_source="unsubscribe").write(
            {self._ecrm_consent_field: "withdrawn"}
        )
