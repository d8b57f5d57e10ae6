from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    ecrm_consent_required = fields.Boolean(
        "Marketing Requires Explicit Consent",
        default=True,
        help="On (the default, as PIPL and GDPR require): campaigns message a customer on a channel only after "
        "the customer granted consent for that channel. Off (where the law allows marketing to existing "
        "customers until they object): customers without a recorded choice are messaged, those who withdrew "
        "consent never are.",
    )
    ecrm_consent_link_days = fields.Integer(
        "Consent Link Validity (days)",
        default=7,
        help="How long the link of a double opt-in confirmation email can be used.",
    )
