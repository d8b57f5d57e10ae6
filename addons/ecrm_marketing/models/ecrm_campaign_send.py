from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class EcrmCampaignSend(models.Model):
    """One step of a campaign for one customer: sent (queued) or skipped, with a reason.

    The unique index on (participant, step) is the exactly-once guarantee: a participation is
    one (campaign, customer, occurrence), so a step is sent at most once per (campaign, step,
    customer, occurrence). Rows are inserted with ``ON CONFLICT DO NOTHING`` in the transaction
    that queues the message, so a re-run, or a crash before the commit, never sends a step twice
    and never skips one. Append-only: rows are never changed by users nor deleted.
    """

    _name = "ecrm.campaign.send"
    _description = "Marketing Campaign Message"
    _order = "id desc"
    _rec_name = "step_id"

    campaign_id = fields.Many2one("ecrm.campaign", required=True, ondelete="cascade", index=True)
    step_id = fields.Many2one("ecrm.campaign.step", required=True, ondelete="cascade", index=True)
    variant_id = fields.Many2one("ecrm.campaign.variant", ondelete="set null", index="btree_not_null")
    partner_id = fields.Many2one("res.partner", "Customer", required=True, ondelete="cascade")
    participant_id = fields.Many2one("ecrm.campaign.participant", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    channel = fields.Selection([("email", "Email"), ("sms", "SMS"), ("webhook", "Webhook")], required=True)
    state = fields.Selection([("sent", "Sent"), ("skipped", "Skipped")], required=True)
    reason = fields.Selection(
        [
            ("condition", "Condition not met"),
            ("frequency_cap", "Frequency cap"),
            ("no_email", "No email"),
            ("no_phone", "No mobile number"),
            ("blacklisted", "Blacklisted"),
            ("opted_out", "Opted out"),
            ("no_consent", "No marketing consent"),
        ],
        string="Skip Reason",
    )
    date = fields.Datetime(required=True, index=True)
    mail_mail_id = fields.Integer("Email ID", help="mail.mail id (the email is deleted once sent).")
    mailing_trace_id = fields.Many2one("mailing.trace", "Trace", ondelete="set null", index="btree_not_null")
    sms_id_int = fields.Integer("SMS ID")
    trace_status = fields.Selection(related="mailing_trace_id.trace_status", string="Delivery Status")

    _participant_step_unique = models.UniqueIndex(
        "(participant_id, step_id)", "A campaign step is sent at most once per customer and occurrence."
    )
    _partner_date_index = models.Index("(partner_id, date)")

    def write(self, vals):
        if set(vals) - {"mail_mail_id", "mailing_trace_id", "sms_id_int"}:
            raise UserError(self.env._("Campaign messages are a log: they cannot be changed."))
        return super().write(vals)

    @api.model
    def _insert_rows(self, step, rows, now):
        """Insert send rows for ``step``; return the rows actually inserted (not already there).

        :param rows: [(participant, variant, state, reason)]
        """
        if not rows:
            return self.browse()
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ecrm_campaign_send
                    (campaign_id, step_id, partner_id, participant_id, variant_id, company_id, channel,
                     state, reason, date, create_uid, create_date, write_uid, write_date)
                SELECT cp.campaign_id, %(step)s, cp.partner_id, cp.id, NULLIF(u.variant_id, 0),
                       %(company)s, %(channel)s, u.state, NULLIF(u.reason, ''), %(now)s,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(participants)s::int[], %(variants)s::int[], %(states)s::varchar[],
                              %(reasons)s::varchar[]) WITH ORDINALITY AS u(participant_id, variant_id, state, reason, ord)
                  JOIN ecrm_campaign_participant cp ON cp.id = u.participant_id AND cp.campaign_id = %(campaign)s
              ORDER BY u.ord
                ON CONFLICT DO NOTHING
                RETURNING id
                """,
                campaign=step.campaign_id.id,
                step=step.id,
                company=step.campaign_id.company_id.id,
                channel=step.channel,
                now=now,
                uid=self.env.uid,
                participants=[p.id for p, _v, _s, _r in rows],
                variants=[v.id or 0 for _p, v, _s, _r in rows],
                states=[s for _p, _v, s, _r in rows],
                reasons=[r or "" for _p, _v, _s, r in rows],
            )
        )
        return self.browse(sorted(row[0] for row in self.env.cr.fetchall()))

    @api.model
    def _get_kpis(self, campaigns, groupby, steps=None):
        """KPIs of the campaign messages grouped by ``groupby`` (columns of this table).

        Orders are attributed to the last message (state sent, any campaign) the customer got
        before ordering, within that message's campaign attribution window (last touch).

        Engagement comes from the message's ``mailing.trace`` (email and SMS alike): delivered is a
        trace sent (email accepted by the mail server; SMS delivered, per the provider's delivery
        report), bounced a bounce, failed an error or a cancellation before sending; unsubscribed
        counts the customers blacklisted (email, or number for an SMS) after the message.

        :return: list of dicts: the groupby columns, sent, skipped, delivered, opened, clicked,
            bounced, failed, unsubscribed, converted, orders, revenue, conversion_rate, unsubscribe_rate
        """
        if not campaigns:
            return []
        for model in (
            "ecrm.campaign.send",
            "mailing.trace",
            "sale.order",
            "mail.blacklist",
            "phone.blacklist",
            "res.partner",
        ):
            self.env[model].flush_model()
        columns = SQL(", ").join(SQL.identifier("s", col) for col in groupby)
        step_filter = SQL("AND s.step_id IN %s", tuple(steps.ids)) if steps else SQL()
        self.env.cr.execute(
            SQL(
                """
                WITH attributed AS (%(attribution)s),
                per_send AS (
                    SELECT send_id, COUNT(*) AS orders, SUM(amount) AS revenue FROM attributed GROUP BY send_id
                )
                SELECT %(columns)s,
                       COUNT(*) FILTER (WHERE s.state = 'sent') AS sent,
                       COUNT(*) FILTER (WHERE s.state = 'skipped') AS skipped,
                       COUNT(t.id) FILTER (WHERE t.trace_status IN ('sent', 'open', 'reply')) AS delivered,
                       COUNT(t.id) FILTER (WHERE t.open_datetime IS NOT NULL OR t.trace_status IN ('open', 'reply'))
                           AS opened,
                       COUNT(t.id) FILTER (WHERE t.links_click_datetime IS NOT NULL) AS clicked,
                       COUNT(t.id) FILTER (WHERE t.trace_status = 'bounce') AS bounced,
                       COUNT(t.id) FILTER (WHERE t.trace_status IN ('error', 'cancel')) AS failed,
                       COUNT(*) FILTER (WHERE s.state = 'sent' AND (
                           (s.channel != 'sms' AND EXISTS (
                               SELECT 1 FROM mail_blacklist bl WHERE bl.email = p.email_normalized AND bl.active
                                  AND bl.create_date >= s.date))
                           OR (s.channel = 'sms' AND EXISTS (
                               SELECT 1 FROM phone_blacklist pbl WHERE pbl.number = p.phone_sanitized AND pbl.active
                                  AND pbl.create_date >= s.date)))) AS unsubscribed,
                       COUNT(ps.send_id) AS converted,
                       COALESCE(SUM(ps.orders), 0)::int AS orders,
                       COALESCE(SUM(ps.revenue), 0.0) AS revenue
                  FROM ecrm_campaign_send s
                  JOIN res_partner p ON p.id = s.partner_id
             LEFT JOIN mailing_trace t ON t.id = s.mailing_trace_id
             LEFT JOIN per_send ps ON ps.send_id = s.id
                 WHERE s.campaign_id IN %(campaigns)s %(step_filter)s
              GROUP BY %(columns)s
                """,
                attribution=self._attribution_sql(SQL("%s", tuple(campaigns.ids))),
                columns=columns,
                campaigns=tuple(campaigns.ids),
                step_filter=step_filter,
            )
        )
        result = []
        for row in self.env.cr.dictfetchall():
            sent = row["sent"]
            row["revenue"] = float(row["revenue"])
            row["conversion_rate"] = 100.0 * row["converted"] / sent if sent else 0.0
            row["unsubscribe_rate"] = 100.0 * row["unsubscribed"] / sent if sent else 0.0
            result.append(row)
        return result

    @api.model
    def _get_counters(self, records, column):
        """{record id: kpis} of ``ecrm.campaign.step`` or ``ecrm.campaign.variant`` records (``column``
        is ``step_id`` or ``variant_id``), for their statistics fields."""
        records = records.filtered("id")
        steps = records if column == "step_id" else records.step_id
        if not records:
            return {}
        rows = self._get_kpis(steps.campaign_id, [column], steps=steps)
        return {row[column]: row for row in rows if row[column] in records.ids}

    @api.model
    def _attribution_sql(self, campaign_ids_sql=None):
        """SQL selecting (order_id, amount, send_id, campaign_id, date): confirmed orders and their last touch."""
        restrict = (
            SQL(
                "AND so.partner_id IN (SELECT partner_id FROM ecrm_campaign_send WHERE campaign_id IN %s)",
                campaign_ids_sql,
            )
            if campaign_ids_sql is not None
            else SQL()
        )
        return SQL(
            """
            SELECT DISTINCT ON (so.id) so.id AS order_id, so.amount_untaxed AS amount, s.id AS send_id,
                   s.campaign_id, so.date_order AS date
              FROM sale_order so
              JOIN ecrm_campaign_send s
                ON s.partner_id = so.partner_id AND s.state = 'sent' AND s.date <= so.date_order
              JOIN ecrm_campaign c ON c.id = s.campaign_id
             WHERE so.state = 'sale' AND so.date_order < s.date + make_interval(days => c.attribution_days)
                   %s
          ORDER BY so.id, s.date DESC, s.id DESC
            """,
            restrict,
        )
