"""Upgrade to 19.0.1.1.0: per-channel consent and recurring enrolment.

Consent: remember who ticked the former Marketing Consent checkbox before it becomes computed
(the post-migration grants those customers the channels).

Recurring enrolment: one participation per (campaign, customer, occurrence). Before 19.0.1.1.0
a customer took part in a campaign once, ever (unique campaign/customer) and a step was sent
once per (campaign, step, customer). Both constraints are dropped here (Odoo does not drop a
constraint a model no longer declares); the module update then creates the new ones:
participants unique per (campaign, customer, occurrence) and, under the "once per customer"
policy, per (campaign, customer); messages unique per (participant, step).

The participations that exist were enrolled under the old rule: they are marked "once", so the
new partial unique index keeps them unique per customer while the campaign's own policy (computed
from its trigger by the update) applies to new enrolments.
"""

from odoo.tools import SQL

OLD_CONSTRAINTS = (
    ("ecrm_campaign_participant", "ecrm_campaign_participant_campaign_partner_unique"),
    ("ecrm_campaign_send", "ecrm_campaign_send_step_partner_unique"),
)


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        DROP TABLE IF EXISTS ecrm_marketing_consent_migration;
        CREATE TABLE ecrm_marketing_consent_migration AS
            SELECT id FROM res_partner WHERE ecrm_marketing_consent;
        """
    )
    for table, name in OLD_CONSTRAINTS:
        cr.execute(SQL("ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s", SQL.identifier(table), SQL.identifier(name)))
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))
        cr.execute(
            SQL(
                """DELETE FROM ir_model_constraint
                    WHERE name = %(name)s
                      AND module = (SELECT id FROM ir_module_module WHERE name = 'ecrm_marketing')""",
                name=name,
            )
        )
    cr.execute("ALTER TABLE ecrm_campaign_participant ADD COLUMN IF NOT EXISTS reentry varchar")
    cr.execute("UPDATE ecrm_campaign_participant SET reentry = 'once' WHERE reentry IS NULL")
