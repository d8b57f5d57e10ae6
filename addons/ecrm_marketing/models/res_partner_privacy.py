# The privacy code of customers is kept apart from res_partner.py, to be read and reviewed as one.
# pylint: disable=consider-merging-classes-inherited
from odoo import api, fields, models

from odoo.addons.ecrm_segments.models.privacy_tools import export_rows, set_columns
from odoo.addons.ecrm_segments.models.res_partner_consent import CONSENT_FIELDS

PARTICIPANT_FIELDS = ["campaign_id", "state", "enrolled_date", "current_step_id", "next_action_date", "exit_reason"]
SEND_FIELDS = ["date", "campaign_id", "step_id", "variant_id", "channel", "state", "reason"]
TRACE_FIELDS = [
    "mass_mailing_id",
    "trace_type",
    "trace_status",
    "email",
    "sms_number",
    "sent_datetime",
    "open_datetime",
    "reply_datetime",
    "links_click_datetime",
    "failure_type",
]
WEBHOOK_FIELDS = ["create_date", "url", "state", "attempts", "response_status", "payload"]
SMS_FIELDS = ["create_date", "number", "body", "state"]


class ResPartner(models.Model):
    _inherit = "res.partner"

    # The campaigns' former single consent checkbox now follows the per-channel consent:
    # True as soon as one channel is granted. Writing it (old API, imports) grants every
    # channel not recorded yet, or withdraws every granted one.
    ecrm_marketing_consent = fields.Boolean(
        compute="_compute_ecrm_marketing_consent",
        inverse="_inverse_ecrm_marketing_consent",
        store=True,
        readonly=False,
        help="The customer granted marketing consent on at least one channel (see the eCRM tab).",
    )

    @api.depends("ecrm_consent_email", "ecrm_consent_sms", "ecrm_consent_webhook")
    def _compute_ecrm_marketing_consent(self):
        for partner in self:
            partner.ecrm_marketing_consent = any(partner[fname] == "granted" for fname in CONSENT_FIELDS.values())

    def _inverse_ecrm_marketing_consent(self):
        for partner in self:
            if partner.ecrm_marketing_consent:
                values = {fname: "granted" for fname in CONSENT_FIELDS.values() if partner[fname] in (False, "unknown")}
            else:
                values = {fname: "withdrawn" for fname in CONSENT_FIELDS.values() if partner[fname] == "granted"}
            if values:
                partner.write(values)

    def _ecrm_privacy_export_data(self):
        sections = super()._ecrm_privacy_export_data()
        env = self.env
        partners = self._ecrm_privacy_partners()
        participants = env["ecrm.campaign.participant"].search([("partner_id", "in", partners.ids)], order="id")
        sends = env["ecrm.campaign.send"].search([("partner_id", "in", partners.ids)], order="date, id")
        traces = env["mailing.trace"].search(
            [
                "|",
                ("id", "in", sends.mailing_trace_id.ids),
                "&",
                ("model", "=", "res.partner"),
                ("res_id", "in", partners.ids),
            ],
            order="id",
        )
        webhooks = env["ecrm.campaign.webhook"].search([("send_id", "in", sends.ids)], order="id")
        sms = env["sms.sms"].search([("partner_id", "in", partners.ids)], order="id")
        sections.update(
            {
                "campaign_participations": {
                    "label": env._("Campaign Participations"),
                    "rows": export_rows(participants, PARTICIPANT_FIELDS),
                },
                "campaign_messages": {"label": env._("Campaign Messages"), "rows": export_rows(sends, SEND_FIELDS)},
                "email_traces": {
                    "label": env._("Email Deliveries"),
                    "rows": export_rows(traces.filtered(lambda t: t.trace_type == "mail"), TRACE_FIELDS),
                },
                "sms_traces": {
                    "label": env._("Text Message Deliveries"),
                    "rows": export_rows(traces.filtered(lambda t: t.trace_type == "sms"), TRACE_FIELDS),
                },
                "webhook_calls": {"label": env._("Webhook Calls"), "rows": export_rows(webhooks, WEBHOOK_FIELDS)},
                "sms": {"label": env._("Text Messages"), "rows": export_rows(sms, SMS_FIELDS)},
            }
        )
        return sections

    def _ecrm_privacy_erase_data(self, scrubber):
        details = super()._ecrm_privacy_erase_data(scrubber)
        env = self.env
        partners = self._ecrm_privacy_partners()
        emails = [email for email in partners.mapped("email_normalized") if email]
        participants = env["ecrm.campaign.participant"].search([("partner_id", "in", partners.ids)])
        running = participants.filtered(lambda participant: participant.state == "running")
        running.write(
            {"state": "exited", "exit_reason": "stopped", "next_action_date": False, "current_step_id": False}
        )
        scrubber.scrub_columns(env["ecrm.campaign.participant"], participants.ids, ["error_message"])
        sends = env["ecrm.campaign.send"].search([("partner_id", "in", partners.ids)])
        # the statistics stay (sent, opened, clicked) without the address they went to
        traces = env["mailing.trace"].search(
            [
                "|",
                "|",
                ("id", "in", sends.mailing_trace_id.ids),
                ("email", "in", emails),
                "&",
                ("model", "=", "res.partner"),
                ("res_id", "in", partners.ids),
            ]
        )
        set_columns(env["mailing.trace"], traces.ids, {"email": None, "sms_number": None})
        scrubber.scrub_columns(env["mailing.trace"], traces.ids, ["failure_reason"])
        webhooks = env["ecrm.campaign.webhook"].search([("send_id", "in", sends.ids)])
        set_columns(env["ecrm.campaign.webhook"], webhooks.ids, {"payload": "{}"})
        # a call not delivered yet is not sent any more
        webhooks.filtered(lambda call: call.state == "pending").write({"state": "failed"})
        scrubber.scrub_columns(env["ecrm.campaign.webhook"], webhooks.ids, ["last_error", "url"])
        sms = env["sms.sms"].search([("partner_id", "in", partners.ids)])
        set_columns(env["sms.sms"], sms.ids, {"number": None, "body": None})
        sms.filtered(lambda record: record.state == "outgoing").write({"state": "canceled"})
        # mailing-list contacts are marketing data only: they go with their subscriptions
        contacts = env["mailing.contact"].with_context(active_test=False).search([("email_normalized", "in", emails)])
        contacts.unlink()
        details.update(
            {
                "campaign_participations": len(participants),
                "email_traces": len(traces),
                "webhook_calls": len(webhooks),
                "sms": len(sms),
                "mailing_contacts": len(contacts),
            }
        )
        return details
