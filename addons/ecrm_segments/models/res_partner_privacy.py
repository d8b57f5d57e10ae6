# The privacy code of customers is kept apart from res_partner.py, to be read and reviewed as one.
# pylint: disable=consider-merging-classes-inherited
import base64

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import SQL, email_normalize, escape_psql

from .ecrm_consent_log import ERASURE_SETTING
from .privacy_tools import Scrubber, archive_file_name, build_archive, export_rows, set_columns

# fields of res.partner kept by an erasure (technical, or not about the person)
ERASURE_KEEP_FIELDS = {
    "name",
    "lang",
    "tz",
    "type",
    "signup_type",
    "invoice_edi_format_store",
    "ecrm_consent_email",
    "ecrm_consent_sms",
    "ecrm_consent_webhook",
}
PROFILE_FIELDS = [
    "name",
    "email",
    "phone",
    "street",
    "street2",
    "zip",
    "city",
    "state_id",
    "country_id",
    "vat",
    "function",
    "website",
    "lang",
    "tz",
    "parent_id",
    "company_name",
    "category_id",
    "user_id",
    "create_date",
    "ecrm_segment_id",
    "ecrm_stage",
    "ecrm_consent_email",
    "ecrm_consent_sms",
    "ecrm_consent_webhook",
]
ADDRESS_FIELDS = ["type", "name", "email", "phone", "street", "street2", "zip", "city", "state_id", "country_id"]
CONSENT_LOG_FIELDS = ["date", "channel", "state", "previous_state", "source", "proof", "ip_address", "user_agent"]
ORDER_FIELDS = [
    "name",
    "date_order",
    "state",
    "company_id",
    "currency_id",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "partner_invoice_id",
    "partner_shipping_id",
    "client_order_ref",
]
ORDER_LINE_FIELDS = ["order_id", "product_id", "name", "product_uom_qty", "price_unit", "discount", "price_subtotal"]
INVOICE_FIELDS = [
    "name",
    "move_type",
    "invoice_date",
    "state",
    "payment_state",
    "currency_id",
    "amount_untaxed",
    "amount_total",
    "company_id",
]
SCORE_FIELDS = [
    "company_id",
    "frequency",
    "first_order_date",
    "last_order_date",
    "recency_days",
    "monetary",
    "refunded",
    "aov",
    "r_score",
    "f_score",
    "m_score",
    "rfm_code",
    "segment_id",
    "stage",
    "clv_historic",
    "clv_simple",
    "clv_predicted",
    "expected_purchases",
    "p_alive",
    "churn_risk",
    "value_at_stake",
    "clv_model",
]
MESSAGE_FIELDS = ["date", "model", "res_id", "message_type", "author_id", "subject", "body"]
MESSAGE_TEXT_COLUMNS = [
    "subject",
    "body",
    "email_from",
    "reply_to",
    "incoming_email_to",
    "incoming_email_cc",
    "outgoing_email_to",
]


class ResPartner(models.Model):
    """Personal data of a customer: what the eCRM addons export and erase.

    Three hooks, each sibling addon overriding them with ``super()`` (no addon imports
    another): :meth:`_ecrm_privacy_export_data` (the sections of the export),
    :meth:`_ecrm_privacy_records` (the records about the customer whose messages and
    activities the erasure de-identifies) and :meth:`_ecrm_privacy_erase_data` (each addon
    de-identifies its own records). Public entry points: :meth:`ecrm_privacy_export` and
    :meth:`ecrm_privacy_erase`, and the wizards of the customer form.
    """

    _inherit = "res.partner"

    # Least privilege: a customer's predicted value and churn risk are for the eCRM app's
    # users only (other internal users and portal users read contacts too).
    ecrm_clv_historic = fields.Monetary(groups="ecrm_segments.ecrm_group_user")
    ecrm_clv_simple = fields.Monetary(groups="ecrm_segments.ecrm_group_user")
    ecrm_clv_predicted = fields.Monetary(groups="ecrm_segments.ecrm_group_user")
    ecrm_expected_purchases = fields.Float(groups="ecrm_segments.ecrm_group_user")
    ecrm_p_alive = fields.Float(groups="ecrm_segments.ecrm_group_user")
    ecrm_churn_risk = fields.Float(groups="ecrm_segments.ecrm_group_user")
    ecrm_value_at_stake = fields.Monetary(groups="ecrm_segments.ecrm_group_user")

    ecrm_erased_date = fields.Datetime(
        "Erased On", readonly=True, copy=False, help="The customer's personal data was erased on their request."
    )

    # ------------------------------------------------------------------
    # export
    # ------------------------------------------------------------------

    def ecrm_privacy_export(self):
        """RPC: the archive of everything the eCRM addons hold about this customer.

        eCRM managers only; the export is written to the audit log.

        :return: ``{"file_name", "content" (base64 zip), "sections": [section keys]}``
        """
        self.ensure_one()
        self._ecrm_privacy_check_manager()
        content, sections = self._ecrm_privacy_build_archive(channel="back_office")
        return {
            "file_name": archive_file_name(self.id, fields.Date.context_today(self)),
            "content": base64.b64encode(content).decode(),
            "sections": sorted(sections),
        }

    def _ecrm_privacy_build_archive(self, channel):
        """Build the zip and log the export. :return: (bytes, sections dict)"""
        self.ensure_one()
        # sudo: the export gathers the customer's data from every eCRM addon (tickets, ledger,
        # campaign messages...), whatever the requesting manager or the customer may read
        partner = self.sudo().with_context(active_test=False, lang=self.lang or self.env.lang)
        sections = partner._ecrm_privacy_export_data()
        meta = {
            "customer_id": self.id,
            "generated_at": fields.Datetime.to_string(fields.Datetime.now()),
            "generated_by": channel,
        }
        readme = partner.env._(
            "Your personal data held by %(company)s, generated on %(date)s.\n\n"
            "personal_data.json: every section, machine-readable (UTF-8 JSON).\n"
            "personal_data.xlsx: the same data, one sheet per section.\n\n"
            "Sections: %(sections)s\n",
            company=(self.company_id or self.env.company).name,
            date=meta["generated_at"],
            sections=", ".join(f"{key} ({section['label']})" for key, section in sections.items()),
        )
        content = build_archive(sections, meta, readme)
        self.env["ecrm.audit.log"]._ecrm_log(
            [
                {
                    "action": "export",
                    "res_model": "res.partner",
                    "res_id": self.id,
                    "note": channel,
                    "new_value": ", ".join(sections),
                    "company_id": (self.company_id or self.env.company).id,
                }
            ]
        )
        return content, sections

    def _ecrm_privacy_partners(self):
        """The customer and its contacts and addresses (children), archived ones included."""
        return self.with_context(active_test=False).search([("id", "child_of", self.ids)])

    def _ecrm_privacy_export_data(self):
        """Hook: the sections of the customer's export.

        Each addon adds its own sections and calls ``super()``. Called in sudo on one
        customer, in the customer's language.

        :return: ``{section key: {"label": translated title, "rows": [dict, ...]}}``;
            rows are JSON-ready (see ``privacy_tools.export_rows``)
        """
        self.ensure_one()
        env = self.env
        partners = self._ecrm_privacy_partners()
        orders = env["sale.order"].search([("partner_id", "in", partners.ids)], order="date_order, id")
        invoices = env["account.move"].search(
            [("partner_id", "in", partners.ids), ("move_type", "in", ("out_invoice", "out_refund"))],
            order="invoice_date, id",
        )
        scores = env["ecrm.partner.score"].search([("partner_id", "in", partners.ids)], order="company_id")
        history = env["ecrm.segment.history"].search([("partner_id", "in", partners.ids)], order="date, id")
        messages = env["mail.message"].search(
            [
                ("model", "=", "res.partner"),
                ("res_id", "in", partners.ids),
                ("message_type", "!=", "user_notification"),
            ],
            order="date, id",
        )
        consent = [
            {"channel": channel, "label": label, "state": export_state}
            for channel, label, fname in self._ecrm_consent_channels()
            for export_state in [dict(self._fields[fname]._description_selection(env)).get(self[fname] or "unknown")]
        ]
        return {
            "profile": {"label": env._("Profile"), "rows": export_rows(self, PROFILE_FIELDS)},
            "addresses": {
                "label": env._("Contacts and Addresses"),
                "rows": export_rows(partners - self, ADDRESS_FIELDS),
            },
            "consent": {"label": env._("Marketing Consent"), "rows": consent},
            "consent_history": {
                "label": env._("Consent History"),
                "rows": export_rows(
                    env["ecrm.consent.log"].search([("partner_id", "in", partners.ids)], order="date, id"),
                    ["partner_id", *CONSENT_LOG_FIELDS],
                ),
            },
            "orders": {"label": env._("Orders"), "rows": export_rows(orders, ORDER_FIELDS)},
            "order_lines": {"label": env._("Order Lines"), "rows": export_rows(orders.order_line, ORDER_LINE_FIELDS)},
            "invoices": {"label": env._("Invoices and Credit Notes"), "rows": export_rows(invoices, INVOICE_FIELDS)},
            "scores": {"label": env._("Scores (RFM, CLV, Churn)"), "rows": export_rows(scores, SCORE_FIELDS)},
            "segment_history": {
                "label": env._("Segment History"),
                "rows": export_rows(history, ["date", "company_id", "segment_from_id", "segment_to_id"]),
            },
            "messages": {"label": env._("Messages on the Customer"), "rows": export_rows(messages, MESSAGE_FIELDS)},
        }

    # ------------------------------------------------------------------
    # erasure
    # ------------------------------------------------------------------

    def _ecrm_privacy_check_manager(self):
        if not self.env.user.has_group("ecrm_segments.ecrm_group_manager"):
            raise AccessError(self.env._("Only eCRM managers can export or erase a customer's personal data."))

    def ecrm_privacy_erase(self, confirmation):
        """RPC: forget this customer: anonymise their personal data across the eCRM addons.

        eCRM managers only, irreversible, logged (audit log and Odoo's privacy log). Orders,
        invoices, loyalty ledger lines, campaign statistics and tickets stay (accounting and
        statistics), linked to the anonymised customer.

        :param str confirmation: the customer's name, typed again
        :return: ``{"partner_id", "name" (the anonymised name), "details": {section: count}}``
        :raise AccessError: not an eCRM manager
        :raise UserError: the confirmation does not match, or the customer is a user of the
            back office or a company of this database
        """
        self.ensure_one()
        self._ecrm_privacy_check_manager()
        if (confirmation or "").strip().casefold() != (self.name or "").strip().casefold():
            raise UserError(self.env._("Type the customer's name exactly to confirm the erasure."))
        return self.sudo()._ecrm_privacy_erase()

    def _ecrm_privacy_identifiers(self):
        """The strings that identify the customer (names, emails, phones, logins)."""
        identifiers = set()
        for partner in self._ecrm_privacy_partners():
            identifiers.update(
                value
                for value in (
                    partner.name,
                    partner.email,
                    partner.email_normalized,
                    partner.phone,
                    partner.phone_sanitized,
                )
                if value
            )
            if partner.phone:
                digits = "".join(char for char in partner.phone if char.isdigit())
                if len(digits) >= 6:
                    identifiers.add(digits)
            identifiers.update(partner.with_context(active_test=False).user_ids.mapped("login"))
        return identifiers

    def _ecrm_privacy_records(self):
        """Hook: the records about the customer, whose messages, activities and attachments
        the erasure de-identifies. Each addon adds its own models and calls ``super()``.

        :return: ``{model name: ids}``
        """
        partners = self._ecrm_privacy_partners()
        orders = self.env["sale.order"].search([("partner_id", "in", partners.ids)])
        invoices = self.env["account.move"].search([("partner_id", "in", partners.ids)])
        return {"res.partner": partners.ids, "sale.order": orders.ids, "account.move": invoices.ids}

    def _ecrm_privacy_erase_data(self, scrubber):
        """Hook: de-identify this addon's records about the customer (called in sudo, before
        the customer itself is anonymised, so the hooks can still find the customer's data).

        :param scrubber: a ``privacy_tools.Scrubber`` of the customer's identifiers
        :return: ``{section: number of records changed}``
        """
        partners = self._ecrm_privacy_partners()
        orders = self.env["sale.order"].search([("partner_id", "in", partners.ids)])
        invoices = self.env["account.move"].search([("partner_id", "in", partners.ids)])
        details = {
            "orders": scrubber.scrub_columns(
                self.env["sale.order"], orders.ids, ["signed_by", "client_order_ref", "origin", "note"]
            )
            + scrubber.scrub_columns(self.env["sale.order.line"], orders.order_line.ids, ["name"]),
            "invoices": scrubber.scrub_columns(
                self.env["account.move"],
                invoices.ids,
                ["ref", "narration", "payment_reference", "invoice_origin", "invoice_source_email"],
            )
            + scrubber.scrub_columns(self.env["account.move.line"], invoices.line_ids.ids, ["name"]),
        }
        # the proof of consent stays, without the IP address, browser and free text
        logs = self.env["ecrm.consent.log"].search([("partner_id", "in", partners.ids)])
        if logs:
            self.env["ecrm.consent.log"].flush_model()
            self.env.cr.execute(SQL("SELECT set_config(%s, 'on', true)", ERASURE_SETTING))
            set_columns(
                self.env["ecrm.consent.log"],
                logs.ids,
                {"proof": self.env._("Erased at the customer's request."), "ip_address": None, "user_agent": None},
            )
            self.env.cr.execute(SQL("SELECT set_config(%s, '', true)", ERASURE_SETTING))
        details["consent_history"] = len(logs)
        # profiling that only makes sense for a reachable person
        links = self.env["ecrm.tag.rule.link"].search([("partner_id", "in", partners.ids)])
        details["tag_rule_links"] = len(links)
        links.unlink()
        return details

    def _ecrm_privacy_erase(self):
        """Do the erasure (sudo, one customer); see :meth:`ecrm_privacy_erase`."""
        self.ensure_one()
        partners = self._ecrm_privacy_partners()
        internal = partners.with_context(active_test=False).user_ids.filtered(lambda user: not user.share)
        if internal or self.env["res.company"].with_context(active_test=False).search_count(
            [("partner_id", "in", partners.ids)]
        ):
            raise UserError(
                self.env._(
                    "%(name)s is a user of the back office or a company: it cannot be erased as a customer.",
                    name=self.display_name,
                )
            )
        if self.ecrm_erased_date:
            raise UserError(self.env._("This customer was erased already."))
        # no tracking message may copy the old name or email while they are blanked
        customer = self.with_context(tracking_disable=True, mail_notrack=True, mail_create_nolog=True)
        env = customer.env
        partners = partners.with_env(env)
        placeholder = env._("Erased customer %(ref)s", ref=self.id)
        scrubber = Scrubber(customer._ecrm_privacy_identifiers(), placeholder)
        lookup_description = customer._ecrm_privacy_lookup()
        records = customer._ecrm_privacy_records()
        details = customer._ecrm_privacy_erase_data(scrubber)
        details.update(customer._ecrm_privacy_erase_mail(records, partners, scrubber))
        details.update(customer._ecrm_privacy_erase_blacklists(partners))
        anonymised_name = self.name
        anonymised_email = self.email_normalized or ""
        details["contacts"] = customer._ecrm_privacy_anonymise_partners(partners, placeholder)
        details["live_notifications"] = customer._ecrm_privacy_erase_bus(scrubber)
        description = "\n".join(f"{section}: {count}" for section, count in sorted(details.items()))
        # Odoo's privacy log: who erased whom (name and email kept only masked), and what was found
        privacy_log = (
            env["privacy.log"]
            .sudo()
            .create(
                {
                    "anonymized_name": anonymised_name,
                    "anonymized_email": anonymised_email or "-@-",
                    "execution_details": description,
                    "records_description": lookup_description,
                }
            )
        )
        env["ecrm.audit.log"]._ecrm_log(
            [
                {
                    "action": "erase",
                    "res_model": "res.partner",
                    "res_id": self.id,
                    "note": env._("Privacy log #%(log)s", log=privacy_log.id),
                    "new_value": description,
                    "company_id": (self.company_id or env.company).id,
                }
            ]
        )
        return {"partner_id": self.id, "name": placeholder, "details": details}

    def _ecrm_privacy_lookup(self):
        """Odoo's privacy look-up (``privacy_lookup``): every record of any installed module
        that references the customer's name or email, described for the privacy log."""
        email = email_normalize(self.email or "")
        if not email or not self.name:
            return ""
        wizard = self.env["privacy.lookup.wizard"].sudo().create({"name": self.name, "email": email})
        self.env.flush_all()
        self.env.cr.execute(wizard._get_query())
        counts = {}
        for row in self.env.cr.dictfetchall():
            counts[row["res_model_id"]] = counts.get(row["res_model_id"], 0) + 1
        models_by_id = {model.id: model for model in self.env["ir.model"].sudo().browse(list(counts))}
        wizard.unlink()
        return "\n".join(
            f"{models_by_id[model_id].model} ({count})"
            for model_id, count in sorted(counts.items(), key=lambda item: models_by_id[item[0]].model)
        )

    def _ecrm_privacy_erase_mail(self, records, partners, scrubber):
        """De-identify the messages, emails, notifications, activities and attachments about
        the customer or written by them."""
        env = self.env
        Message = env["mail.message"].with_context(active_test=False)
        domain = Domain.OR(
            [
                Domain([("author_id", "in", partners.ids)]),
                Domain([("partner_ids", "in", partners.ids)]),
                *(Domain([("model", "=", model), ("res_id", "in", ids)]) for model, ids in records.items() if ids),
            ]
        )
        messages = Message.search(domain)
        own = messages.filtered(lambda message: message.author_id in partners)
        erased_body = Markup("<p>%s</p>") % env._("Content erased at the customer's request.")
        if own:
            set_columns(Message, own.ids, {"body": erased_body})
        details = {"messages": scrubber.scrub_columns(Message, messages.ids, MESSAGE_TEXT_COLUMNS) + len(own)}
        trackings = env["mail.tracking.value"].search([("mail_message_id", "in", messages.ids)])
        details["tracking_values"] = scrubber.scrub_columns(
            env["mail.tracking.value"],
            trackings.ids,
            ["old_value_char", "new_value_char", "old_value_text", "new_value_text"],
        )
        mails = (
            env["mail.mail"]
            .with_context(active_test=False)
            .search(["|", ("mail_message_id", "in", messages.ids), ("recipient_ids", "in", partners.ids)])
        )
        details["emails"] = scrubber.scrub_columns(
            env["mail.mail"], mails.ids, ["body_html", "email_to", "email_cc", "headers", "failure_reason"]
        )
        if own:
            set_columns(
                env["mail.mail"],
                mails.filtered(lambda mail: mail.mail_message_id in own).ids,
                {"body_html": erased_body},
            )
        # emails still waiting to be sent to the customer are not sent any more
        outgoing = mails.filtered(lambda mail: mail.state in ("outgoing", "exception"))
        set_columns(env["mail.mail"], outgoing.ids, {"state": "cancel"})
        notifications = env["mail.notification"].search(
            ["|", ("res_partner_id", "in", partners.ids), ("mail_message_id", "in", messages.ids)]
        )
        details["notifications"] = scrubber.scrub_columns(
            env["mail.notification"], notifications.ids, ["mail_email_address", "failure_reason"]
        )
        set_columns(
            env["mail.notification"],
            notifications.filtered(lambda notification: notification.res_partner_id in partners).ids,
            {"mail_email_address": None},
        )
        activity_domain = Domain.OR(
            [Domain([("res_model", "=", model), ("res_id", "in", ids)]) for model, ids in records.items() if ids]
        )
        activities = env["mail.activity"].with_context(active_test=False).search(activity_domain)
        details["activities"] = scrubber.scrub_columns(
            env["mail.activity"], activities.ids, ["summary", "note", "res_name", "feedback"]
        )
        # the customer's own files go; the documents of orders and invoices stay (the law keeps
        # them) but lose their full-text index
        Attachment = env["ir.attachment"]
        own_files = Attachment.search(
            Domain.OR(
                [
                    Domain([("res_model", "=", "res.partner"), ("res_id", "in", partners.ids)]),
                    Domain([("id", "in", own.attachment_ids.ids)]),
                ]
            )
        )
        details["attachments"] = len(own_files)
        own_files.unlink()
        kept_files = Attachment.search(activity_domain)
        set_columns(Attachment, kept_files.ids, {"index_content": None})
        details["attachments"] += scrubber.scrub_columns(Attachment, kept_files.ids, ["name", "description"])
        env["mail.followers"].search([("partner_id", "in", partners.ids)]).unlink()
        # email composers left open on the customer's records (transient, rendered bodies)
        composers = env["mail.compose.message"].search(
            Domain.OR(
                [
                    Domain([("partner_ids", "in", partners.ids)]),
                    *(Domain([("model", "=", model)]) for model, ids in records.items() if ids),
                ]
            )
        )
        composers = composers.filtered(
            lambda composer: (
                composer.partner_ids & partners
                or set(composer._evaluate_res_ids() or []) & set(records.get(composer.model) or [])
            )
        )
        details["email_composers"] = len(composers)
        composers.unlink()
        return details

    def _ecrm_privacy_erase_bus(self, scrubber):
        """Drop the live notifications still queued for browsers that quote the customer (they
        are short-lived: Odoo's autovacuum removes them within minutes anyway)."""
        patterns = [f"%{escape_psql(value)}%" for value in scrubber.identifiers if len(value) >= 3]
        if not patterns:
            return 0
        self.env["bus.bus"].flush_model()
        self.env.cr.execute(SQL("DELETE FROM bus_bus WHERE message::text ILIKE ANY(%s)", patterns))
        return self.env.cr.rowcount

    def _ecrm_privacy_erase_blacklists(self, partners):
        """Remove the customer's addresses from Odoo's blacklists (no address is left to
        message once the customer is anonymised), with the blacklist entries' own messages."""
        emails = [email for email in partners.mapped("email_normalized") if email]
        numbers = [number for number in partners.mapped("phone_sanitized") if number]
        mail_entries = self.env["mail.blacklist"].with_context(active_test=False).search([("email", "in", emails)])
        phone_entries = self.env["phone.blacklist"].with_context(active_test=False).search([("number", "in", numbers)])
        count = len(mail_entries) + len(phone_entries)
        mail_entries.unlink()
        phone_entries.unlink()
        return {"blacklist_entries": count}

    def _ecrm_privacy_anonymise_partners(self, partners, placeholder):
        """Blank the personal fields of the customer and its contacts, archive them and their
        portal users. Stored computed fields (display names on orders and invoices, the
        normalised email and phone) follow through the ORM."""
        text_fields = [
            fname
            for fname, field in self._fields.items()
            if field.store
            and field.type in ("char", "text", "html", "binary")
            and not field.related
            and (not field.compute or not field.readonly)
            and fname not in ERASURE_KEEP_FIELDS
        ]
        values = dict.fromkeys(text_fields, False)
        values.update({"category_id": [(5, 0, 0)], "state_id": False, "active": False})
        now = fields.Datetime.now()
        # portal users first: an active user's contact cannot be archived
        users = partners.with_context(active_test=False).user_ids
        for user in users:
            # in SQL: through the ORM, Odoo would email the old address that its login changed
            set_columns(
                self.env["res.users"], user.ids, {"login": f"erased-{user.id}@erased.invalid", "signature": None}
            )
        users.write({"active": False})
        self.env["res.users.log"].search([("create_uid", "in", users.ids)]).unlink()
        self.env["res.device.log"].search([("user_id", "in", users.ids)]).unlink()
        for partner in partners:
            name = placeholder if partner == self else self.env._("Erased contact %(ref)s", ref=partner.id)
            partner.write(dict(values, name=name, ecrm_erased_date=now))
        return len(partners)

    def action_ecrm_privacy_export(self):
        """Button: open the export wizard of this customer."""
        self.ensure_one()
        self._ecrm_privacy_check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Export Personal Data"),
            "res_model": "ecrm.privacy.export",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_partner_id": self.id},
        }

    def action_ecrm_privacy_erase(self):
        """Button: open the confirmation wizard of the erasure of this customer."""
        self.ensure_one()
        self._ecrm_privacy_check_manager()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Forget this Customer"),
            "res_model": "ecrm.privacy.erase",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"default_partner_id": self.id},
        }
