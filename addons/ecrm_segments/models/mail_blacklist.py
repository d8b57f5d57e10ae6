from odoo import models


class MailBlacklist(models.Model):
    """An address put on the blacklist (unsubscribe link, by hand, import) withdraws the
    email marketing consent of the customers who use it."""

    _name = "mail.blacklist"
    _inherit = ["mail.blacklist", "ecrm.blacklist.consent.mixin"]

    _ecrm_partner_field = "email_normalized"
    _ecrm_address_field = "email"
    _ecrm_consent_field = "ecrm_consent_email"
