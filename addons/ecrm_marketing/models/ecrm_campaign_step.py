import logging
import re
import uuid
from datetime import timedelta
from html import unescape

import lxml.html
from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.mail import TEXT_URL_REGEX, URL_SKIP_PROTOCOL_REGEX, is_html_empty

from odoo.addons.link_tracker.tools.html import find_links_with_urls_and_labels

_logger = logging.getLogger(__name__)


class EcrmCampaignStep(models.Model):
    """One message of a campaign: a delay after the previous step, a channel and its content.

    Email steps are queued through a ``mailing.mailing`` of their own (one per A/B variant), so
    Odoo's mass mailing adds the unsubscribe link, the open pixel and the click tracking, and
    its traces (``mailing.trace``) give the sent / opened / clicked / bounced figures.
    """

    _name = "ecrm.campaign.step"
    _description = "Marketing Campaign Step"
    _order = "campaign_id, sequence, id"

    campaign_id = fields.Many2one("ecrm.campaign", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="campaign_id.company_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True)
    delay = fields.Integer(default=0, help="Wait this long after the previous step (or the enrolment).")
    delay_unit = fields.Selection([("hours", "Hours"), ("days", "Days")], default="days", required=True)
    channel = fields.Selection(
        [("email", "Email"), ("sms", "SMS"), ("webhook", "Webhook")], default="email", required=True
    )
    mail_template_id = fields.Many2one(
        "mail.template", "Email Template", domain=[("model", "=", "res.partner")], ondelete="restrict"
    )
    sms_template_id = fields.Many2one(
        "sms.template", "SMS Template", domain=[("model", "=", "res.partner")], ondelete="restrict"
    )
    webhook_url = fields.Char("Webhook URL", help="A JSON POST is sent to this URL (WeChat, app push gateways...).")
    condition = fields.Selection(
        [
            ("none", "Always"),
            ("opened", "Opened the previous email"),
            ("not_opened", "Did not open the previous email"),
            ("clicked", "Clicked in the previous message"),
            ("not_clicked", "Did not click in the previous message"),
            ("ordered", "Ordered since the previous step"),
            ("not_ordered", "Did not order since the previous step"),
        ],
        default="none",
        required=True,
        help="Send only when the customer did this since the previous step; otherwise the step is skipped.",
    )
    variant_ids = fields.One2many("ecrm.campaign.variant", "step_id", string="A/B Variants", copy=True)
    winner_metric = fields.Selection(
        [("opened", "Open rate"), ("clicked", "Click rate"), ("ordered", "Conversion rate"), ("revenue", "Revenue")],
        default="clicked",
        required=True,
    )
    ab_test_hours = fields.Integer(
        "Test Period (hours)", default=48, help="After this, the best variant gets everyone."
    )
    winner_variant_id = fields.Many2one("ecrm.campaign.variant", "Winner", readonly=True, copy=False)
    winner_date = fields.Datetime(readonly=True, copy=False)
    mailing_id = fields.Many2one("mailing.mailing", readonly=True, copy=False, ondelete="set null")
    send_count = fields.Integer("Sent", compute="_compute_statistics")
    delivered_count = fields.Integer("Delivered", compute="_compute_statistics")
    opened_count = fields.Integer("Opened", compute="_compute_statistics")
    clicked_count = fields.Integer("Clicked", compute="_compute_statistics")
    bounced_count = fields.Integer("Bounced", compute="_compute_statistics")
    failed_count = fields.Integer("Failed", compute="_compute_statistics")

    _delay_positive = models.Constraint("CHECK (delay >= 0)", "A step delay cannot be negative.")

    def _compute_statistics(self):
        counters = self.env["ecrm.campaign.send"]._get_counters(self, "step_id")
        for step in self:
            kpis = counters.get(step.id) or {}
            step.send_count = kpis.get("sent", 0)
            step.delivered_count = kpis.get("delivered", 0)
            step.opened_count = kpis.get("opened", 0)
            step.clicked_count = kpis.get("clicked", 0)
            step.bounced_count = kpis.get("bounced", 0)
            step.failed_count = kpis.get("failed", 0)

    @api.constrains("mail_template_id", "sms_template_id", "webhook_url", "channel")
    def _check_content(self):
        for step in self:
            if step.mail_template_id and step.mail_template_id.model != "res.partner":
                raise ValidationError(
                    self.env._("Step %(name)s: the email template must be for contacts.", name=step.name)
                )
            if step.sms_template_id and step.sms_template_id.model != "res.partner":
                raise ValidationError(
                    self.env._("Step %(name)s: the SMS template must be for contacts.", name=step.name)
                )
            if step.webhook_url and not step.webhook_url.startswith(("http://", "https://")):
                raise ValidationError(
                    self.env._("Step %(name)s: the webhook URL must start with http(s)://.", name=step.name)
                )
            if step.campaign_id.state == "running":
                step._check_ready()

    def _check_ready(self):
        """Raise a UserError naming the step when it cannot be sent."""
        for step in self:
            if step.channel == "email":
                missing = (
                    not step.mail_template_id
                    if not step.variant_ids
                    else any(not v.mail_template_id for v in step.variant_ids)
                )
                if missing:
                    raise UserError(self.env._("Step %(name)s has no email template.", name=step.name))
            elif step.channel == "sms":
                missing = (
                    not step.sms_template_id
                    if not step.variant_ids
                    else any(not v.sms_template_id for v in step.variant_ids)
                )
                if missing:
                    raise UserError(self.env._("Step %(name)s has no SMS template.", name=step.name))
            elif not step.webhook_url:
                raise UserError(self.env._("Step %(name)s has no webhook URL.", name=step.name))
            if step.variant_ids and sum(step.variant_ids.mapped("split_percent")) != 100:
                raise UserError(self.env._("Step %(name)s: the variant splits must add up to 100%%.", name=step.name))

    def _get_delay(self):
        self.ensure_one()
        return timedelta(hours=self.delay) if self.delay_unit == "hours" else timedelta(days=self.delay)

    def _get_next_step(self):
        self.ensure_one()
        steps = self.campaign_id.step_ids.sorted(lambda s: (s.sequence, s.id))
        index = list(steps).index(self)
        return steps[index + 1] if index + 1 < len(steps) else self.browse()

    def _get_previous_step(self):
        self.ensure_one()
        steps = self.campaign_id.step_ids.sorted(lambda s: (s.sequence, s.id))
        index = list(steps).index(self)
        return steps[index - 1] if index else self.browse()

    # ------------------------------------------------------------------
    # mailings
    # ------------------------------------------------------------------

    def _ensure_mailings(self):
        """Create the ``mailing.mailing`` records carrying traces, unsubscribe and link tracking.

        One per email or SMS step (one per A/B variant): Odoo's mass mailing and SMS marketing
        track what is sent with them (``mailing.trace``), exactly as for their own mailings.
        """
        model_id = self.env["ir.model"]._get_id("res.partner")
        mediums = {
            "email": self.env.ref("utm.utm_medium_email", raise_if_not_found=False),
            "sms": self.env.ref("mass_mailing_sms.utm_medium_sms", raise_if_not_found=False),
        }
        to_create = []
        owners = []
        for step in self.filtered(lambda s: s.channel in ("email", "sms")):
            holders = step.variant_ids or step
            for holder in holders.filtered(lambda h: not h.mailing_id):
                company = step.campaign_id.company_id
                name = step.name if holder is step else f"{step.name} ({holder.name})"
                values = {
                    "name": f"{step.campaign_id.name} - {name}",
                    "mailing_model_id": model_id,
                    "mailing_domain": "[('id', '=', 0)]",
                    "campaign_id": step.campaign_id.utm_campaign_id.id,
                    "medium_id": mediums[step.channel].id if mediums[step.channel] else False,
                    # 'done': the mailing is a carrier for traces, never sent by the mass mailing queue
                    "state": "done",
                    "sent_date": fields.Datetime.now(),
                    "keep_archives": False,
                }
                if step.channel == "email":
                    template = holder.mail_template_id
                    values.update(
                        {
                            "subject": template.subject or name,
                            # fallback sender when the template has none (a mailing requires one)
                            "email_from": company.email_formatted
                            or self.env.user.email_formatted
                            or company.catchall_formatted
                            or company.name,
                            "body_html": template.body_html,
                        }
                    )
                else:
                    values.update(
                        {
                            "mailing_type": "sms",
                            "subject": name,
                            "sms_template_id": holder.sms_template_id.id,
                            "body_plaintext": holder.sms_template_id.body,
                            "sms_allow_unsubscribe": True,
                        }
                    )
                to_create.append(values)
                owners.append(holder)
        if to_create:
            # sudo: the campaign manager creates the technical carriers, whatever their mass mailing rights
            mailings = self.env["mailing.mailing"].sudo().create(to_create)
            for holder, mailing in zip(owners, mailings):
                holder.mailing_id = mailing

    # ------------------------------------------------------------------
    # A/B testing
    # ------------------------------------------------------------------

    def _pick_variants(self, participants):
        """{participant id: variant} for an A/B step (empty variant when the step has none).

        During the test period the split follows ``split_percent`` exactly over every block of
        100 consecutive participant ids ((id * 37) % 100 is a bijection on them); once a winner
        is chosen, everyone gets the winner.
        """
        self.ensure_one()
        Variant = self.env["ecrm.campaign.variant"]
        if not self.variant_ids:
            return {p.id: Variant for p in participants}
        if self.winner_variant_id:
            return {p.id: self.winner_variant_id for p in participants}
        bounds = []
        total = 0
        for variant in self.variant_ids.sorted(lambda v: (v.sequence, v.id)):
            total += variant.split_percent
            bounds.append((total, variant))
        result = {}
        for participant in participants:
            position = (participant.id * 37) % 100
            result[participant.id] = next((v for bound, v in bounds if position < bound), bounds[-1][1])
        return result

    def _select_winner(self, force=False):
        """Choose the best variant by ``winner_metric`` once ``ab_test_hours`` passed since the first send.

        :param bool force: choose now, whatever the test period
        :return: the steps that got a winner
        """
        done = self.browse()
        now = fields.Datetime.now()
        first_sends = dict(
            self.env["ecrm.campaign.send"]._read_group(
                [("step_id", "in", self.ids), ("state", "=", "sent")], ["step_id"], ["date:min"]
            )
        )
        for step in self.filtered(lambda s: s.variant_ids and not s.winner_variant_id):
            first = first_sends.get(step)
            if not first or (not force and first + timedelta(hours=step.ab_test_hours) > now):
                continue
            kpis = {
                row["variant_id"]: row
                for row in self.env["ecrm.campaign.send"]._get_kpis(step.campaign_id, ["variant_id"], steps=step)
            }

            def score(variant, kpis=kpis, metric=step.winner_metric):
                row = kpis.get(variant.id) or {}
                sent = row.get("sent") or 0
                if not sent:
                    return 0.0
                value = {"opened": row.get("opened", 0), "clicked": row.get("clicked", 0)}.get(metric)
                if metric == "ordered":
                    value = row.get("converted", 0)
                elif metric == "revenue":
                    value = row.get("revenue", 0.0)
                return value / sent

            variants = step.variant_ids.sorted(lambda v: (v.sequence, v.id))
            winner = max(variants, key=lambda v: (score(v), -v.sequence, -v.id))
            step.write({"winner_variant_id": winner.id, "winner_date": now})
            done |= step
        return done

    def action_open_step(self):
        """Open the step form (A/B variants, winner)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_select_winner(self):
        """Choose the winning variant now (button and RPC). :return: True"""
        self._select_winner(force=True)
        return True

    # ------------------------------------------------------------------
    # sending
    # ------------------------------------------------------------------

    def _get_unreachable(self, participants):
        """The send-time reachability check of this step: {participant id: reason} of who cannot get it.

        The one gate every message of a campaign passes just before it is queued (conditions and
        the frequency cap are applied before): for this step's channel, the customer needs an
        address (``no_email`` / ``no_phone``), the address must not be blacklisted (Odoo's
        ``mail.blacklist`` / ``phone.blacklist``: ``blacklisted``) nor opted out of one of the
        campaign's subscription lists (``opted_out``), and the customer must have given their
        marketing consent when the campaign requires it (``no_consent``). The participants left out
        of the result are sent the step; the others get a skipped message with the reason.

        :param participants: ``ecrm.campaign.participant`` records at this step
        :return: {participant id: reason} (a ``reason`` of ``ecrm.campaign.send``)
        """
        self.ensure_one()
        if not participants:
            return {}
        for model in ("res.partner", "mail.blacklist", "phone.blacklist", "mailing.subscription", "mailing.contact"):
            self.env[model].flush_model()
        campaign = self.campaign_id
        no_consent = SQL(
            "WHEN %(consent)s AND NOT COALESCE(p.ecrm_marketing_consent, FALSE) THEN 'no_consent'",
            consent=campaign.require_consent,
        )
        if self.channel == "email":
            reason = SQL(
                """CASE WHEN p.email_normalized IS NULL THEN 'no_email'
                        WHEN EXISTS (SELECT 1 FROM mail_blacklist bl WHERE bl.email = p.email_normalized AND bl.active)
                             THEN 'blacklisted'
                        WHEN EXISTS (SELECT 1 FROM mailing_subscription ms
                                       JOIN mailing_contact mc ON mc.id = ms.contact_id
                                       JOIN ecrm_campaign_mailing_list_rel rel
                                         ON rel.mailing_list_id = ms.list_id AND rel.ecrm_campaign_id = %(campaign)s
                                      WHERE ms.opt_out AND mc.email_normalized = p.email_normalized)
                             THEN 'opted_out'
                        %(no_consent)s
                   END""",
                campaign=campaign.id,
                no_consent=no_consent,
            )
        elif self.channel == "sms":
            reason = SQL(
                """CASE WHEN p.phone_sanitized IS NULL THEN 'no_phone'
                        WHEN EXISTS (SELECT 1 FROM phone_blacklist bl WHERE bl.number = p.phone_sanitized AND bl.active)
                             THEN 'blacklisted'
                        WHEN EXISTS (SELECT 1 FROM mailing_subscription ms
                                       JOIN mailing_contact mc ON mc.id = ms.contact_id
                                       JOIN ecrm_campaign_mailing_list_rel rel
                                         ON rel.mailing_list_id = ms.list_id AND rel.ecrm_campaign_id = %(campaign)s
                                      WHERE ms.opt_out AND mc.phone_sanitized = p.phone_sanitized)
                             THEN 'opted_out'
                        %(no_consent)s
                   END""",
                campaign=campaign.id,
                no_consent=no_consent,
            )
        else:  # webhook: the gateway has its own addresses, consent still applies
            reason = SQL("CASE %s END", no_consent)
        self.env.cr.execute(
            SQL(
                """SELECT cp.id, %(reason)s FROM ecrm_campaign_participant cp
                     JOIN res_partner p ON p.id = cp.partner_id WHERE cp.id IN %(ids)s""",
                reason=reason,
                ids=tuple(participants.ids),
            )
        )
        return {pid: reason for pid, reason in self.env.cr.fetchall() if reason}

    def _queue_emails(self, sends, variant, render_helper):
        """Render and queue the emails of ``sends`` (``ecrm.campaign.send`` rows just inserted).

        Bodies are rendered with the template of the variant (or the step) in the customer's
        language; links are shortened by link_tracker for the step mailing; the mail.mail rows
        carry the mailing and its trace, exactly like a mass mailing, so the unsubscribe link,
        open pixel and click tracking are added by mass_mailing when the mail queue sends them.
        """
        self.ensure_one()
        holder = variant or self
        template = holder.mail_template_id
        mailing = holder.mailing_id
        if not mailing:
            self._ensure_mailings()
            mailing = holder.mailing_id
        partners = sends.mapped("partner_id")
        partner_ids = partners.ids
        # load the customers in one query: the renderer looks them up one by one (lang, name...)
        partners.fetch(["lang", "name", "email_normalized"])
        add_context = {"ecrm": render_helper}
        subjects = template._render_field("subject", partner_ids, compute_lang=True, add_context=add_context)
        bodies = template._render_field(
            "body_html", partner_ids, compute_lang=True, add_context=add_context, options={"preserve_comments": True}
        )
        bodies = self._shorten_links_batch(bodies, mailing._get_link_tracker_values())
        emails_from = template._render_field("email_from", partner_ids) if template.email_from else {}
        default_from = mailing.email_from or self.env.company.email_formatted
        reply_tos = template._render_field("reply_to", partner_ids) if template.reply_to else {}
        base_url = mailing.get_base_url()
        unsubscribe_url = f"{base_url}/unsubscribe_from_list"
        footers = {}
        vals_list = []
        for send in sends:
            partner = send.partner_id
            body = bodies[partner.id] or ""
            if unsubscribe_url not in body:
                lang = partner.lang or "en_US"
                if lang not in footers:
                    footers[lang] = Markup('<p style="font-size:12px;color:#888;"><a href="%s">%s</a></p>') % (
                        unsubscribe_url,
                        self.with_context(lang=lang).env._("Unsubscribe"),
                    )
                body = tools.mail.append_content_to_html(body, footers[lang], plaintext=False)
            message_id = tools.mail.generate_tracking_message_id(f"{partner.id}-res.partner")
            email_from = emails_from.get(partner.id) or default_from
            vals_list.append(
                {
                    "mailing_id": mailing.id,
                    "model": "res.partner",
                    "res_id": partner.id,
                    "subject": subjects[partner.id] or "",
                    "body_html": body,
                    "email_from": email_from,
                    "reply_to": reply_tos.get(partner.id) or email_from,
                    "recipient_ids": [(4, partner.id)],
                    "message_type": "email_outgoing",
                    "subtype_id": False,
                    "auto_delete": template.auto_delete,
                    "is_notification": False,
                    "mail_server_id": template.mail_server_id.id,
                    "message_id": message_id,
                    "references": message_id,
                    "mailing_trace_ids": [
                        (
                            0,
                            0,
                            {
                                "email": partner.email_normalized,
                                "mass_mailing_id": mailing.id,
                                "message_id": message_id,
                                "model": "res.partner",
                                "res_id": partner.id,
                            },
                        )
                    ],
                }
            )
        # sudo: mail.mail is a technical queue, as in mail.compose.message's mass mode
        mails = self.env["mail.mail"].sudo().create(vals_list)
        self.env.cr.execute(
            SQL(
                """UPDATE ecrm_campaign_send s
                      SET mail_mail_id = u.mail_id, mailing_trace_id = u.trace_id
                     FROM unnest(%(sends)s::int[], %(mails)s::int[], %(traces)s::int[]) AS u(send_id, mail_id, trace_id)
                    WHERE s.id = u.send_id""",
                sends=sends.ids,
                mails=mails.ids,
                traces=[mail.mailing_trace_ids[:1].id for mail in mails],
            )
        )
        sends.invalidate_recordset(["mail_mail_id", "mailing_trace_id"])
        return mails

    @api.model
    def _shorten_links_batch(self, bodies, link_tracker_vals):
        """Replace the links of ``bodies`` ({key: html}) by link_tracker short URLs, in one lookup.

        Same result as mass_mailing's per-email ``_shorten_links`` (same skipped links), with
        one ``link.tracker.search_or_create`` for the whole batch. The link title defaults to
        its label or URL instead of fetching the page from the sending job.
        """
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        short_schema = base_url + "/r/"
        parsed = {}
        all_vals = []
        for key, html in bodies.items():
            if not html or is_html_empty(html):
                continue
            root = lxml.html.fromstring(html)
            nodes, urls_and_labels = find_links_with_urls_and_labels(
                root,
                base_url,
                skip_regex=rf"^{URL_SKIP_PROTOCOL_REGEX}",
                skip_prefix=short_schema,
                skip_list=["/unsubscribe_from_list", "/view", "/cards"],
            )
            if nodes:
                parsed[key] = (root, nodes, len(all_vals))
                all_vals.extend(
                    dict(link_tracker_vals, title=values.get("label") or values["url"], **values)
                    for values in urls_and_labels
                )
        if not all_vals:
            return bodies
        trackers = self.env["link.tracker"].search_or_create(all_vals)
        short_urls = trackers.mapped("short_url")
        result = dict(bodies)
        for key, (root, nodes, start) in parsed.items():
            for offset, node in enumerate(nodes):
                node.set("href", short_urls[start + offset])
            result[key] = Markup(lxml.html.tostring(root, encoding="unicode", method="xml"))
        return result

    def _queue_sms(self, sends, variant, render_helper):
        """Render and queue the SMS of ``sends`` in Odoo's ``sms.sms`` queue, tracked like SMS marketing.

        Each SMS carries the step mailing, a ``mailing.trace`` (type sms) and an ``sms.tracker`` on
        its uuid, so that IAP's answers and delivery reports (``/sms/status``) set the trace to
        ``pending`` (accepted by the provider), ``sent`` (delivered), ``bounce`` or ``error``; links are shortened by
        link_tracker and end in ``/s/<sms id>`` so that a click is recorded on the trace; a STOP link
        (SMS marketing's unsubscribe page, which blacklists the number) ends every message.
        """
        self.ensure_one()
        holder = variant or self
        template = holder.sms_template_id
        mailing = holder.mailing_id
        if not mailing:
            self._ensure_mailings()
            mailing = holder.mailing_id
        partners = sends.mapped("partner_id")
        partners.fetch(["lang", "phone_sanitized"])
        bodies = template._render_field("body", partners.ids, compute_lang=True, add_context={"ecrm": render_helper})
        bodies = self._shorten_links_text_batch(bodies, mailing._get_link_tracker_values())
        Trace = self.env["mailing.trace"]
        Composer = self.env["sms.composer"]
        base_url = mailing.get_base_url()
        composers = {}  # lang -> composer in that language, for the translated STOP text
        vals_list = []
        for send in sends:
            partner = send.partner_id
            sms_uuid = uuid.uuid4().hex
            code = Trace._get_random_code()
            lang = partner.lang or "en_US"
            if lang not in composers:
                composers[lang] = Composer.with_context(lang=lang)
            stop = composers[lang]._get_unsubscribe_info(f"{base_url}/sms/{mailing.id}/{code}")
            vals_list.append(
                {
                    "partner_id": partner.id,
                    "number": partner.phone_sanitized,
                    "body": f"{bodies[partner.id] or ''}\n{stop}",
                    "state": "outgoing",
                    "uuid": sms_uuid,
                    "mailing_id": mailing.id,
                    "mailing_trace_ids": [
                        (
                            0,
                            0,
                            {
                                "trace_type": "sms",
                                "mass_mailing_id": mailing.id,
                                "model": "res.partner",
                                "res_id": partner.id,
                                "sms_code": code,
                                "sms_number": partner.phone_sanitized,
                                "sms_tracker_ids": [(0, 0, {"sms_uuid": sms_uuid})],
                            },
                        )
                    ],
                }
            )
        # sudo: sms.sms is a technical queue, as in the SMS composer's mass mode
        sms = self.env["sms.sms"].sudo().create(vals_list)
        # tracked links need the SMS id (/r/<code>/s/<sms id>): rewrite the bodies in one statement
        bodies = sms._update_body_short_links()
        self.env.cr.execute(
            SQL(
                """UPDATE sms_sms s SET body = u.body
                     FROM unnest(%(ids)s::int[], %(bodies)s::text[]) AS u(id, body)
                    WHERE s.id = u.id AND s.body IS DISTINCT FROM u.body""",
                ids=sms.ids,
                bodies=[bodies[record.id] for record in sms],
            )
        )
        sms.invalidate_recordset(["body", "mailing_trace_ids"])
        # (the traces hang on the integer sms_id_int: the ORM does not cache them at creation)
        traces = self.env["mailing.trace"].search_fetch([("sms_id_int", "in", sms.ids)], ["sms_id_int"])
        trace_by_sms = {trace.sms_id_int: trace.id for trace in traces}
        self.env.cr.execute(
            SQL(
                """UPDATE ecrm_campaign_send s
                      SET sms_id_int = u.sms_id, mailing_trace_id = u.trace_id
                     FROM unnest(%(sends)s::int[], %(sms)s::int[], %(traces)s::int[]) AS u(send_id, sms_id, trace_id)
                    WHERE s.id = u.send_id""",
                sends=sends.ids,
                sms=sms.ids,
                traces=[trace_by_sms[record.id] for record in sms],
            )
        )
        sends.invalidate_recordset(["sms_id_int", "mailing_trace_id"])
        return sms

    @api.model
    def _shorten_links_text_batch(self, bodies, link_tracker_vals):
        """Replace the links of the text ``bodies`` ({key: text}) by link_tracker short URLs, in one lookup.

        Same links as ``mail.render.mixin._shorten_links_text`` (short links and the SMS unsubscribe
        page are kept), with one ``link.tracker.search_or_create`` for the whole batch.
        """
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        skip = (base_url + "/r/", base_url + "/sms/")
        urls = {}
        for body in bodies.values():
            for url in set(re.findall(TEXT_URL_REGEX, body or "")):
                if not url.startswith(skip):
                    urls.setdefault(url, None)
        if not urls:
            return bodies
        # the title is the URL: no fetching of the page from the sending job
        trackers = self.env["link.tracker"].search_or_create(
            [dict(link_tracker_vals, url=unescape(url), title=unescape(url)) for url in urls]
        )
        short = {url: tracker.short_url for url, tracker in zip(urls, trackers) if tracker.short_url}
        result = {}
        for key, body in bodies.items():
            for url in set(re.findall(TEXT_URL_REGEX, body or "")):
                if url in short:
                    # only this link, not the start of a longer one
                    body = re.sub(re.escape(url) + r"(?![\w@:%.+&~#=/-])", short[url], body)
            result[key] = body
        return result

    def _queue_webhooks(self, sends, variant, render_helper):
        """Queue one webhook POST per send; ``ecrm.campaign.webhook._cron_send`` delivers them."""
        self.ensure_one()
        vals_list = []
        for send in sends:
            partner = send.partner_id
            vals_list.append(
                {
                    "send_id": send.id,
                    "url": self.webhook_url,
                    "payload": {
                        "event": "ecrm.campaign.step",
                        "idempotency_key": f"ecrm-send-{send.id}",
                        "campaign": {"id": self.campaign_id.id, "name": self.campaign_id.name},
                        "step": {"id": self.id, "name": self.name},
                        "variant": variant.name if variant else None,
                        "customer": {
                            "id": partner.id,
                            "name": partner.name,
                            "email": partner.email or None,
                            "phone": partner.phone_sanitized or partner.phone or None,
                            "lang": partner.lang or None,
                            "segment": render_helper.segment(partner) or None,
                        },
                    },
                }
            )
        return self.env["ecrm.campaign.webhook"].sudo().create(vals_list)
