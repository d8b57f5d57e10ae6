from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

CONSENT_CHANNELS = [("email", "Email"), ("sms", "SMS"), ("webhook", "Webhook / WeChat")]
CONSENT_STATES = [
    ("unknown", "Not recorded"),
    ("pending", "Awaiting confirmation"),
    ("granted", "Granted"),
    ("withdrawn", "Withdrawn"),
]
CONSENT_SOURCES = [
    ("portal", "Customer portal"),
    ("import", "Import"),
    ("double_opt_in", "Double opt-in confirmation"),
    ("back_office", "Back office"),
    ("api", "API"),
    ("unsubscribe", "Unsubscribe / blacklist"),
]
# the columns an erasure may blank out (the proof's personal details); everything else is fixed
ERASABLE_COLUMNS = ("proof", "ip_address", "user_agent")
ERASURE_SETTING = "ecrm_segments.privacy_erasure"


class EcrmConsentLog(models.Model):
    """One change of a customer's marketing consent on one channel, with its proof.

    The history of consent is append-only: rows are written by
    ``res.partner._ecrm_consent_apply`` (form, import, portal, double opt-in, blacklist),
    never changed and never deleted while the customer exists. A database trigger enforces
    it; the only exception is an erasure, which blanks the proof's personal details (IP
    address, browser, free text) and keeps the rest as the record that consent was handled.
    """

    _name = "ecrm.consent.log"
    _description = "Marketing Consent History"
    _order = "date desc, id desc"
    _rec_name = "channel"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one("res.company", readonly=True, index=True, ondelete="restrict")
    channel = fields.Selection(CONSENT_CHANNELS, required=True, readonly=True)
    state = fields.Selection(CONSENT_STATES, string="Consent", required=True, readonly=True)
    previous_state = fields.Selection(CONSENT_STATES, string="Before", readonly=True)
    source = fields.Selection(CONSENT_SOURCES, required=True, readonly=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    proof = fields.Text(readonly=True, help="What the customer saw and did, or where the consent comes from.")
    ip_address = fields.Char("IP Address", readonly=True)
    user_agent = fields.Char("Browser", readonly=True)
    user_id = fields.Many2one("res.users", string="Recorded By", readonly=True, ondelete="restrict")
    request_id = fields.Many2one(
        "ecrm.consent.log",
        string="Confirmation Request",
        readonly=True,
        ondelete="cascade",
        help="The double opt-in request this confirmation answers.",
    )
    expiry_date = fields.Datetime(
        "Link Valid Until", readonly=True, help="Double opt-in requests: until when the emailed link can be used."
    )

    def init(self):
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION ecrm_consent_log_append_only() RETURNS trigger AS $$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        -- only together with the customer (ON DELETE CASCADE)
                        IF NOT EXISTS (SELECT 1 FROM res_partner WHERE id = OLD.partner_id) THEN
                            RETURN OLD;
                        END IF;
                    ELSIF coalesce(current_setting(%(setting)s, true), '') = 'on'
                          AND (to_jsonb(NEW) - %(erasable)s::text[]) = (to_jsonb(OLD) - %(erasable)s::text[]) THEN
                        -- an erasure blanks the proof's personal details, nothing else
                        RETURN NEW;
                    END IF;
                    RAISE EXCEPTION 'ecrm_consent_log is append-only: %% refused', TG_OP
                        USING ERRCODE = 'integrity_constraint_violation';
                END;
                $$ LANGUAGE plpgsql;
                DROP TRIGGER IF EXISTS ecrm_consent_log_append_only ON ecrm_consent_log;
                CREATE TRIGGER ecrm_consent_log_append_only BEFORE UPDATE OR DELETE ON ecrm_consent_log
                    FOR EACH ROW EXECUTE FUNCTION ecrm_consent_log_append_only();
                """,
                setting=ERASURE_SETTING,
                erasable=list(ERASABLE_COLUMNS),
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get("ecrm_consent_engine"):
            raise UserError(
                self.env._("Consent history is recorded by changing the customer's consent, not written directly.")
            )
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("Consent history is append-only: its rows cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Consent history is append-only: its rows cannot be deleted."))
