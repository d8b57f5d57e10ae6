from odoo import models


class PhoneBlacklist(models.Model):
    """A number put on the phone blacklist (STOP reply, by hand) withdraws the SMS marketing
    consent of the customers who use it."""

    _name = "phone.blacklist"
    _inherit = ["phone.blacklist", "ecrm.blacklist.consent.mixin"]

    _ecrm_partner_field = "phone_sanitized"
    _ecrm_address_field = "number"
    _ecrm_consent_field = "ecrm_consent_sms"
