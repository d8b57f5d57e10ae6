# The privacy code of customers is kept apart from res_partner.py, to be read and reviewed as one.
# pylint: disable=consider-merging-classes-inherited
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from .ecrm_consent_log import CONSENT_STATES

CONSENT_FIELDS = {"email": "ecrm_consent_email", "sms": "ecrm_consent_sms", "webhook": "ecrm_consent_webhook"}
CONSENT_TOKEN_SCOPE = "ecrm-consent-confirm"
# sources a caller may name through ecrm_set_consent (portal and double opt-in come from their own flows)
API_SOURCES = ("api", "back_office", "import")


class ResPartner(models.Model):
    """Marketing consent per customer and channel.

    The current choice is a field per channel (``unknown`` until something is recorded);
    every change writes a row of ``ecrm.consent.log`` (source, date, proof) and an audit
    entry, and keeps Odoo's blacklists consistent: withdrawing email consent blacklists the
    address (``mail.blacklist``), withdrawing SMS consent the number (``phone.blacklist``);
    granting it again removes them; an address blacklisted elsewhere (an unsubscribe link)
    withdraws the email consent.

    Where the change comes from is read from the context: ``ecrm_consent_source`` (default
    ``import`` during an import, else ``back_office``), ``ecrm_consent_proof``,
    ``ecrm_consent_ip``, ``ecrm_consent_user_agent``; or written with the field
    ``ecrm_consent_note`` in the same ``write``/``create`` (an import column).
    """

    _inherit = "res.partner"

    ecrm_consent_email = fields.Selection(
        CONSENT_STATES,
        string="Email Consent",
        default="unknown",
        copy=False,
        help="Marketing emails (campaigns) to this customer.",
    )
    ecrm_consent_sms = fields.Selection(
        CONSENT_STATES,
        string="SMS Consent",
        default="unknown",
        copy=False,
        help="Marketing text messages to this customer.",
    )
    ecrm_consent_webhook = fields.Selection(
        CONSENT_STATES,
        string="Webhook / WeChat Consent",
        default="unknown",
        copy=False,
        help="Marketing messages through a webhook (e.g. WeChat, another messaging app).",
    )
    ecrm_consent_log_ids = fields.One2many("ecrm.consent.log", "partner_id", string="Consent History", readonly=True)
    ecrm_consent_note = fields.Char(
        "Consent Proof",
        compute="_compute_ecrm_consent_note",
        inverse="_inverse_ecrm_consent_note",
        help="Where the consent comes from (the signed form, the import file...): kept in the consent history "
        "with the change of consent saved at the same time.",
    )

    def _compute_ecrm_consent_note(self):
        for partner in self:
            partner.ecrm_consent_note = False

    def _inverse_ecrm_consent_note(self):
        """Nothing to store: ``create``/``write`` put the note in the consent history."""

    # ------------------------------------------------------------------
    # CRUD: every change of consent is recorded
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [dict(vals) for vals in vals_list]
        notes = [vals.pop("ecrm_consent_note", None) for vals in vals_list]
        for vals in vals_list:
            self._ecrm_consent_check_values(vals)
        partners = super().create(vals_list)
        changes = [
            (partner, channel, "unknown", vals[fname], note)
            for partner, vals, note in zip(partners, vals_list, notes)
            for channel, fname in CONSENT_FIELDS.items()
            if vals.get(fname) and vals[fname] != "unknown"
        ]
        partners._ecrm_consent_after_change(changes)
        return partners

    def write(self, vals):
        if "ecrm_consent_note" in vals:
            vals = dict(vals)
            note = vals.pop("ecrm_consent_note")
        else:
            note = None
        fnames = {channel: fname for channel, fname in CONSENT_FIELDS.items() if fname in vals}
        if not fnames:
            return super().write(vals)
        self._ecrm_consent_check_values(vals)
        before = {
            (partner.id, channel): partner[fname] or "unknown" for partner in self for channel, fname in fnames.items()
        }
        result = super().write(vals)
        changes = [
            (partner, channel, before[partner.id, channel], vals[fname] or "unknown", note)
            for partner in self
            for channel, fname in fnames.items()
            if before[partner.id, channel] != (vals[fname] or "unknown")
        ]
        self._ecrm_consent_after_change(changes)
        return result

    @api.model
    def _ecrm_consent_check_values(self, vals):
        """Refuse states only the engine sets (``pending``) and clearing a recorded choice."""
        if self.env.context.get("ecrm_consent_engine"):
            return
        for fname in CONSENT_FIELDS.values():
            if fname not in vals:
                continue
            if vals[fname] == "pending":
                raise ValidationError(
                    self.env._("A consent awaits confirmation only after a confirmation request was sent.")
                )
            if vals[fname] in (False, "unknown") and any(partner[fname] not in (False, "unknown") for partner in self):
                raise ValidationError(
                    self.env._("A recorded consent cannot be set back to Not recorded: withdraw it instead.")
                )

    @api.model
    def _ecrm_consent_context(self):
        """(source, proof, ip, user agent, request) of the changes being saved, from the context."""
        ctx = self.env.context
        source = ctx.get("ecrm_consent_source") or ("import" if ctx.get("import_file") else "back_office")
        return (
            source,
            ctx.get("ecrm_consent_proof"),
            ctx.get("ecrm_consent_ip"),
            ctx.get("ecrm_consent_user_agent"),
            ctx.get("ecrm_consent_request_id"),
        )

    def _ecrm_consent_after_change(self, changes):
        """Write the history, the audit trail and the blacklists for ``changes``.

        :param changes: list of ``(partner, channel, old state, new state, note)``
        """
        if not changes:
            return
        source, proof, ip_address, user_agent, request_id = self._ecrm_consent_context()
        default_proofs = {
            "import": self.env._("Imported by %(user)s.", user=self.env.user.name),
            "back_office": self.env._("Recorded by %(user)s.", user=self.env.user.name),
            "api": self.env._("Recorded through the API by %(user)s.", user=self.env.user.name),
            "unsubscribe": self.env._("The address was added to Odoo's blacklist (unsubscribe link or by hand)."),
        }
        now = fields.Datetime.now()
        log_vals, audit_vals = [], []
        for partner, channel, old, new, note in changes:
            log_vals.append(
                {
                    "partner_id": partner.id,
                    "company_id": partner.company_id.id,
                    "channel": channel,
                    "state": new,
                    "previous_state": old,
                    "source": source,
                    "date": now,
                    "proof": note or proof or default_proofs.get(source),
                    "ip_address": ip_address,
                    "user_agent": (user_agent or "")[:500] or False,
                    "user_id": self.env.uid,
                    "request_id": request_id,
                    "expiry_date": self.env.context.get("ecrm_consent_expiry") if new == "pending" else False,
                }
            )
            audit_vals.append(
                {
                    "action": "consent",
                    "res_model": "res.partner",
                    "res_id": partner.id,
                    "field_name": CONSENT_FIELDS[channel],
                    "old_value": old,
                    "new_value": new,
                    "note": source,
                    "company_id": (partner.company_id or self.env.company).id,
                }
            )
        # sudo: the history is written for every user who may change a customer's consent,
        # and nobody has create access to it
        logs = self.env["ecrm.consent.log"].sudo().with_context(ecrm_consent_engine=True).create(log_vals)
        self.env["ecrm.audit.log"]._ecrm_log(audit_vals)
        if not self.env.context.get("ecrm_consent_sync"):
            self._ecrm_consent_sync_blacklists(changes, source)
        return logs

    def _ecrm_consent_sync_blacklists(self, changes, source):
        """Keep Odoo's email and phone blacklists in line with the consent just recorded."""
        # sudo: the blacklists are the system's suppression lists, kept for the customer's own choice
        MailBlacklist = self.env["mail.blacklist"].sudo().with_context(ecrm_consent_sync=True)
        PhoneBlacklist = self.env["phone.blacklist"].sudo().with_context(ecrm_consent_sync=True)
        for partner, channel, _old, new, _note in changes:
            if channel == "email" and partner.email_normalized:
                if new == "withdrawn":
                    MailBlacklist._add(
                        partner.email_normalized, message=self.env._("Email marketing consent withdrawn.")
                    )
                elif new == "granted" and MailBlacklist.search([("email", "=", partner.email_normalized)]):
                    MailBlacklist._remove(
                        partner.email_normalized, message=self.env._("Email marketing consent granted.")
                    )
            elif channel == "sms" and partner.phone_sanitized:
                if new == "withdrawn":
                    PhoneBlacklist._add(
                        [partner.phone_sanitized], message=self.env._("SMS marketing consent withdrawn.")
                    )
                elif new == "granted" and PhoneBlacklist.search([("number", "=", partner.phone_sanitized)]):
                    PhoneBlacklist._remove(
                        [partner.phone_sanitized], message=self.env._("SMS marketing consent granted.")
                    )

    @api.model
    def _ecrm_consent_sync_from_blacklists(self, batch_size=1000):
        """Withdraw the consent of the customers already on Odoo's blacklists (at install and
        upgrade: the addresses unsubscribed before consent was recorded stay unsubscribed)."""
        for model in ("mail.blacklist", "phone.blacklist"):
            entries = self.env[model].search([("active", "=", True)], order="id")
            for start in range(0, len(entries), batch_size):
                entries[start : start + batch_size]._ecrm_withdraw_consent()

    # ------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------

    def ecrm_get_consent(self):
        """The customer's current consent per channel, with the latest history row.

        :return: ``{channel: {"state", "source", "date", "proof"}}`` (channels ``email``,
            ``sms``, ``webhook``); ``source``/``date``/``proof`` are ``False`` until recorded
        """
        self.ensure_one()
        latest = {}
        # sudo: the history of the customer the caller reads (access to the customer checked below)
        self.check_access("read")
        for log in self.sudo().ecrm_consent_log_ids.sorted(lambda log: (log.date, log.id)):
            latest[log.channel] = log
        result = {}
        for channel, fname in CONSENT_FIELDS.items():
            log = latest.get(channel)
            result[channel] = {
                "state": self[fname] or "unknown",
                "source": log.source if log else False,
                "date": fields.Datetime.to_string(log.date) if log else False,
                "proof": log.proof if log else False,
            }
        return result

    def ecrm_set_consent(self, channel, granted, proof=None, source="api"):
        """Record that these customers granted (``granted=True``) or withdrew consent on ``channel``.

        :param str channel: ``email``, ``sms`` or ``webhook``
        :param bool granted: True to grant, False to withdraw
        :param str proof: where the consent comes from (kept in the history)
        :param str source: ``api`` (default), ``back_office`` or ``import``
        :return: True
        :raise ValidationError: unknown channel or source
        """
        if channel not in CONSENT_FIELDS:
            raise ValidationError(
                self.env._(
                    "Unknown consent channel %(channel)s (use %(channels)s).",
                    channel=channel,
                    channels=", ".join(CONSENT_FIELDS),
                )
            )
        if source not in API_SOURCES:
            raise ValidationError(
                self.env._(
                    "Unknown consent source %(value)s (use %(sources)s).", value=source, sources=", ".join(API_SOURCES)
                )
            )
        state = "granted" if granted else "withdrawn"
        todo = self.filtered(lambda partner: partner[CONSENT_FIELDS[channel]] != state)
        todo.with_context(ecrm_consent_source=source, ecrm_consent_proof=proof).write({CONSENT_FIELDS[channel]: state})
        return True

    def ecrm_request_consent(self, channel="email"):
        """Send the double opt-in email: a signed link the customer follows to confirm.

        The consent is ``pending`` until confirmed (``/ecrm/consent/<request>/<token>``); the
        link expires after the company's *Consent Link Validity*.

        :return: ids of the ``ecrm.consent.log`` requests created
        :raise UserError: not the email channel, a customer without email, or consent already granted
        """
        if channel != "email":
            raise UserError(self.env._("Double opt-in confirmation is sent by email only."))
        for partner in self:
            if not partner.email_normalized:
                raise UserError(
                    self.env._("%(customer)s has no valid email address to confirm.", customer=partner.display_name)
                )
            if partner.ecrm_consent_email == "granted":
                raise UserError(
                    self.env._("%(customer)s already granted email consent.", customer=partner.display_name)
                )
        # sudo: the template is shared configuration, users who may ask for consent may not edit templates
        template = self.env.ref("ecrm_segments.mail_template_ecrm_consent_request").sudo()
        requests = self.env["ecrm.consent.log"]
        self.check_access("read")
        # sudo: asking is not deciding: any eCRM user who reads the customer may send the request,
        # the customer's click records the consent
        for partner in self.sudo():
            days = (partner.company_id or self.env.company).ecrm_consent_link_days or 7
            before = partner.ecrm_consent_email or "unknown"
            expiry = fields.Datetime.now() + timedelta(days=days)
            partner.with_context(
                ecrm_consent_engine=True,
                ecrm_consent_source="double_opt_in",
                ecrm_consent_expiry=expiry,
            ).write({"ecrm_consent_email": "pending"})
            if before == "pending":
                # a new request replaces the previous one: write() saw no change, log it anyway
                partner.with_context(
                    ecrm_consent_source="double_opt_in", ecrm_consent_expiry=expiry
                )._ecrm_consent_after_change([(partner, "email", "pending", "pending", None)])
            request = partner.ecrm_consent_log_ids.sorted(lambda log: (log.date, log.id))[-1:]
            url = f"{partner.get_base_url()}/ecrm/consent/{request.id}/{self._ecrm_consent_token(request)}"
            template.with_context(ecrm_consent_url=url, lang=partner.lang).send_mail(
                partner.id, email_layout_xmlid="mail.mail_notification_light"
            )
            requests |= request
        return requests.ids

    def action_ecrm_request_email_consent(self):
        """Button: email the double opt-in link."""
        self.ecrm_request_consent("email")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Confirmation sent"),
                "message": self.env._("The customer gets an email with a link to confirm their consent."),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _ecrm_consent_token(self, request):
        """The signature of the confirmation link of a double opt-in ``request``."""
        return tools.hmac(
            self.env(su=True),
            CONSENT_TOKEN_SCOPE,
            (request.id, request.partner_id.id, request.channel, fields.Datetime.to_string(request.expiry_date)),
        )

    @api.model
    def _ecrm_consent_find_request(self, request_id, token):
        """The pending request ``request_id`` if ``token`` signs it, else an empty record."""
        # sudo: the link is opened by a visitor who is not logged in; the signature authenticates it
        request = self.env["ecrm.consent.log"].sudo().browse(int(request_id)).exists()
        if not request or not request.expiry_date or request.state != "pending":
            return request.browse()
        if not tools.consteq(str(token or ""), self._ecrm_consent_token(request)):
            return request.browse()
        return request

    @api.model
    def _ecrm_consent_confirm(self, request_id, token, ip_address=None, user_agent=None):
        """Grant the consent asked by a double opt-in request (the link in the email).

        :return: ``"confirmed"``, ``"already"`` (this request was confirmed before) or
            ``"expired"``; the consent is granted only for ``"confirmed"``
        :raise UserError: the link is not valid (wrong signature, replaced by a newer request,
            or the customer's choice changed since)
        """
        request = self._ecrm_consent_find_request(request_id, token)
        if not request:
            raise UserError(self.env._("This confirmation link is not valid."))
        partner = request.partner_id
        latest = partner.ecrm_consent_log_ids.filtered(lambda log: log.channel == request.channel).sorted(
            lambda log: (log.date, log.id)
        )[-1:]
        if latest.request_id == request and latest.state == "granted":
            return "already"
        if latest != request:
            raise UserError(
                self.env._("This confirmation link was replaced by a newer one, or the consent was changed since.")
            )
        if request.expiry_date < fields.Datetime.now():
            return "expired"
        proof = self.env._(
            "Confirmed the link emailed on %(sent)s (request #%(request)s).",
            sent=fields.Datetime.to_string(request.date),
            request=request.id,
        )
        partner.with_context(
            ecrm_consent_source="double_opt_in",
            ecrm_consent_proof=proof,
            ecrm_consent_ip=ip_address,
            ecrm_consent_user_agent=user_agent,
            ecrm_consent_request_id=request.id,
        ).write({CONSENT_FIELDS[request.channel]: "granted"})
        return "confirmed"

    @api.model
    def _ecrm_consent_channels(self):
        """[(channel, translated label, field name)] in display order."""
        labels = dict(self.env["ecrm.consent.log"]._fields["channel"]._description_selection(self.env))
        return [(channel, labels[channel], fname) for channel, fname in CONSENT_FIELDS.items()]
