"""Per-channel consent replaces the campaigns' single Marketing Consent checkbox.

Customers who had the checkbox ticked keep their consent: every channel not recorded yet is
granted, with a history row saying where it comes from.
"""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    cr.execute("SELECT to_regclass('ecrm_marketing_consent_migration')")
    if not cr.fetchone()[0]:
        return
    cr.execute("SELECT id FROM ecrm_marketing_consent_migration")
    ids = [row[0] for row in cr.fetchall()]
    cr.execute("DROP TABLE ecrm_marketing_consent_migration")
    partners = (
        env["res.partner"]
        .with_context(active_test=False)
        .search(
            [
                ("id", "in", ids),
                ("ecrm_consent_email", "in", (False, "unknown")),
                ("ecrm_consent_sms", "in", (False, "unknown")),
                ("ecrm_consent_webhook", "in", (False, "unknown")),
            ]
        )
    )
    partners = partners.with_context(
        ecrm_consent_source="import",
        ecrm_consent_proof="Marketing Consent checkbox of the campaigns, before consent was recorded per channel.",
        tracking_disable=True,
    )
    # an address or number on Odoo's blacklists stays there: that channel is not granted
    email_ok = partners.filtered(lambda partner: not partner.is_blacklisted)
    sms_ok = partners.filtered(lambda partner: not partner.phone_blacklisted)
    email_ok.write({"ecrm_consent_email": "granted"})
    sms_ok.write({"ecrm_consent_sms": "granted"})
    partners.write({"ecrm_consent_webhook": "granted"})
