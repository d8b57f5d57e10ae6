import calendar
import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

_logger = logging.getLogger(__name__)

# trigger key -> event fired through res.partner._ecrm_notify_event by a sibling addon
HOOK_TRIGGERS = {
    "loyalty.points_expiring": "points_expiring",
    "loyalty.tier_changed": "tier_changed",
    "helpdesk.low_rating": "low_rating",
}
# triggers found by the enrolment cron (the others come from hooks or from action_enrol)
SCHEDULED_TRIGGERS = (
    "new_customer",
    "abandoned_cart",
    "birthday",
    "segment_entered",
    "segment_exited",
    "inactivity",
    "post_purchase",
)
BIRTHDAY_FIELD = "ecrm_birthday"
# re-entry policy of a new campaign, by trigger (all the others: once per occurrence)
DEFAULT_REENTRY = {"new_customer": "once"}
REENTRY_POLICIES = [
    ("once", "Once per customer"),
    ("occurrence", "Once per occurrence"),
    ("interval", "Once per occurrence, at most every N days"),
]


class EcrmCampaign(models.Model):
    """An automated multi-step campaign: a trigger enrols customers, steps message them.

    Enrolment and sending are done by scheduled actions (``_cron_enrol``,
    ``ecrm.campaign.participant._cron_advance``); each (campaign, step, customer) is sent at
    most once, enforced by a unique index on ``ecrm.campaign.send``.
    """

    _name = "ecrm.campaign"
    _description = "Marketing Campaign"
    _inherit = "mail.thread"
    _order = "sequence, id desc"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    state = fields.Selection(
        [("draft", "Draft"), ("running", "Running"), ("stopped", "Stopped")],
        default="draft",
        required=True,
        copy=False,
        tracking=True,
    )
    date_start = fields.Datetime("Started On", copy=False, readonly=True, help="When the campaign was last activated.")
    # --- trigger
    trigger = fields.Selection(
        [
            ("manual", "Manual / API enrolment"),
            ("new_customer", "New customer"),
            ("abandoned_cart", "Abandoned cart"),
            ("birthday", "Birthday"),
            ("segment_entered", "Enters a segment"),
            ("segment_exited", "Leaves a segment"),
            ("inactivity", "Inactive customer"),
            ("post_purchase", "After a purchase"),
            ("points_expiring", "Loyalty points about to expire"),
            ("tier_changed", "Loyalty tier changed"),
            ("low_rating", "Low satisfaction rating"),
        ],
        default="manual",
        required=True,
        tracking=True,
    )
    trigger_hours = fields.Integer(
        "Cart Age (hours)", default=4, help="Abandoned cart: how old a quotation must be before the reminder."
    )
    trigger_days = fields.Integer(
        "Days",
        default=7,
        help="Birthday: days before the birthday; inactivity: days without an order; "
        "after a purchase: days after the order.",
    )
    trigger_max_age_days = fields.Integer(
        "Look Back (days)",
        default=7,
        help="Abandoned cart and after a purchase: ignore carts and orders older than this.",
    )
    trigger_segment_id = fields.Many2one("ecrm.segment", help="Segment whose entry or exit enrols customers.")
    history_cursor = fields.Integer(
        copy=False, readonly=True, help="Last segment history row processed by the enrolment."
    )
    reentry = fields.Selection(
        REENTRY_POLICIES,
        "Re-entry",
        compute="_compute_reentry",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        help="Whether a customer can take part again. Once per customer: never again. Once per "
        "occurrence: once for each event (each birthday, cart, order, segment entry...), never twice for "
        "the same one. At most every N days: once per occurrence, and not within N days of the previous "
        "enrolment.",
    )
    reentry_days = fields.Integer(
        "Re-entry Interval (days)",
        default=30,
        help="At most every N days: days after an enrolment before the customer can be enrolled again.",
    )
    # --- audience
    segment_ids = fields.Many2many("ecrm.segment", string="Segments", help="Only customers in one of these segments.")
    tag_ids = fields.Many2many(
        "res.partner.category", string="Contact Tags", help="Only customers with one of these tags."
    )
    domain = fields.Char("Audience Filter", default="[]", help="Extra filter on customers (an Odoo domain).")
    require_consent = fields.Boolean(
        help="Only message customers who gave their marketing consent (field on the customer)."
    )
    optout_list_ids = fields.Many2many(
        "mailing.list",
        "ecrm_campaign_mailing_list_rel",
        "ecrm_campaign_id",
        "mailing_list_id",
        string="Subscription Lists",
        help="Customers who opted out of one of these mailing lists (their email, or their mobile number for "
        "text messages) are not sent the campaign on that channel.",
    )
    # --- limits and exits
    frequency_cap = fields.Integer(
        default=0,
        help="Skip a step when the customer already received this many messages, all campaigns together, "
        "over the cap period. 0: no cap.",
    )
    frequency_cap_days = fields.Integer("Cap Period (days)", default=7)
    quiet_hour_start = fields.Float(default=0.0, help="Start of the quiet hours, customer's time zone (e.g. 21.0).")
    quiet_hour_end = fields.Float(
        default=0.0, help="End of the quiet hours (e.g. 8.0). Equal to start: no quiet hours."
    )
    exit_on_order = fields.Boolean("Exit on Order", default=True, help="Stop the flow when the customer orders.")
    exit_on_unsubscribe = fields.Boolean("Exit on Unsubscribe", default=True)
    holdout_percent = fields.Integer(
        "Hold-out (%)", default=0, help="Share of enrolled customers who receive nothing, to measure the uplift."
    )
    attribution_days = fields.Integer("Attribution Window (days)", default=5)
    # --- relations
    step_ids = fields.One2many("ecrm.campaign.step", "campaign_id", string="Steps", copy=True)
    participant_ids = fields.One2many("ecrm.campaign.participant", "campaign_id", string="Participants")
    utm_campaign_id = fields.Many2one("utm.campaign", "UTM Campaign", readonly=True, copy=False, ondelete="restrict")
    # --- statistics (not stored)
    participant_count = fields.Integer(compute="_compute_statistics")
    sent_count = fields.Integer("Sent", compute="_compute_statistics")
    opened_count = fields.Integer("Opened", compute="_compute_statistics")
    clicked_count = fields.Integer("Clicked", compute="_compute_statistics")
    order_count = fields.Integer("Orders", compute="_compute_statistics")
    revenue = fields.Float(compute="_compute_statistics")
    conversion_rate = fields.Float("Conversion (%)", compute="_compute_statistics")

    _holdout_range = models.Constraint(
        "CHECK (holdout_percent >= 0 AND holdout_percent <= 90)", "The hold-out must be between 0 and 90%."
    )
    _frequency_cap_positive = models.Constraint(
        "CHECK (frequency_cap >= 0 AND frequency_cap_days >= 0)", "The frequency cap cannot be negative."
    )
    _quiet_hours_range = models.Constraint(
        "CHECK (quiet_hour_start >= 0 AND quiet_hour_start < 24 AND quiet_hour_end >= 0 AND quiet_hour_end < 24)",
        "Quiet hours are hours of the day, between 0 and 24.",
    )

    # ------------------------------------------------------------------
    # compute / constraints
    # ------------------------------------------------------------------

    def _compute_statistics(self):
        stats = self._get_statistics()
        for campaign in self:
            values = stats.get(campaign.id, {})
            campaign.participant_count = values.get("participants", 0)
            campaign.sent_count = values.get("sent", 0)
            campaign.opened_count = values.get("opened", 0)
            campaign.clicked_count = values.get("clicked", 0)
            campaign.order_count = values.get("orders", 0)
            campaign.revenue = values.get("revenue", 0.0)
            campaign.conversion_rate = values.get("conversion_rate", 0.0)

    @api.depends("trigger")
    def _compute_reentry(self):
        for campaign in self:
            campaign.reentry = DEFAULT_REENTRY.get(campaign.trigger, "occurrence")

    @api.constrains("domain")
    def _check_domain(self):
        for campaign in self:
            campaign._get_audience_domain()

    @api.constrains("trigger", "trigger_segment_id", "trigger_days", "trigger_hours", "reentry", "reentry_days")
    def _check_trigger(self):
        for campaign in self:
            if campaign.reentry == "interval" and campaign.reentry_days < 1:
                raise ValidationError(
                    self.env._("Campaign %(name)s: the re-entry interval must be at least one day.", name=campaign.name)
                )
            if campaign.trigger in ("segment_entered", "segment_exited") and not campaign.trigger_segment_id:
                raise ValidationError(
                    self.env._("Campaign %(name)s: choose the segment that triggers it.", name=campaign.name)
                )
            if campaign.trigger_days < 0 or campaign.trigger_hours < 0 or campaign.trigger_max_age_days < 0:
                raise ValidationError(self.env._("Trigger delays cannot be negative."))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        campaigns = super().create(vals_list)
        # sudo: utm campaigns belong to the marketing tooling, a marketing manager may lack utm rights
        utm_campaigns = (
            self.env["utm.campaign"]
            .sudo()
            .create([{"title": campaign.name, "is_auto_campaign": True} for campaign in campaigns])
        )
        for campaign, utm_campaign in zip(campaigns, utm_campaigns):
            campaign.utm_campaign_id = utm_campaign
        return campaigns

    def write(self, vals):
        if "trigger" in vals and any(c.state == "running" for c in self):
            raise UserError(self.env._("Stop the campaign before changing its trigger."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_sent(self):
        if self.env["ecrm.campaign.send"].search_count([("campaign_id", "in", self.ids)], limit=1):
            raise UserError(self.env._("A campaign that already sent messages cannot be deleted: archive it."))

    # ------------------------------------------------------------------
    # actions (RPC API)
    # ------------------------------------------------------------------

    def action_activate(self):
        """Start the campaigns: check their configuration, create their step mailings, state running.

        :raise UserError: a campaign without steps, a step without template / URL, a trigger
            that is not available in this database
        :return: True
        """
        for campaign in self:
            campaign._check_ready()
        for campaign in self:
            campaign.step_ids._ensure_mailings()
        self.filtered(lambda c: c.state != "running").write({"state": "running", "date_start": fields.Datetime.now()})
        return True

    def action_stop(self):
        """Stop the campaigns: no new enrolment, no message sent. Participants are kept.

        :return: True
        """
        self.write({"state": "stopped"})
        return True

    def action_reset_draft(self):
        """Back to draft (only a stopped campaign)."""
        if any(c.state == "running" for c in self):
            raise UserError(self.env._("Stop the campaign first."))
        self.write({"state": "draft"})
        return True

    def action_enrol(self, partner_ids, enrolment_key=None):
        """Enrol customers in this running campaign, whatever its trigger.

        Customers outside the audience are ignored, and so are those the re-entry policy keeps out:
        already enrolled for this occurrence (always), enrolled before ("once per customer"), enrolled
        within ``reentry_days`` ("at most every N days").

        :param list partner_ids: ids of ``res.partner``
        :param str enrolment_key: the occurrence, e.g. ``"promo:2026-05"`` (default ``manual:<partner id>``,
            the same for every call: a customer is then enrolled once)
        :return: ids of the participants created
        :rtype: list
        """
        self.ensure_one()
        if self.state != "running":
            raise UserError(self.env._("Campaign %(name)s is not running: activate it first.", name=self.name))
        partner_ids = [int(pid) for pid in partner_ids]
        rows = [(pid, enrolment_key or f"manual:{pid}") for pid in partner_ids]
        return self._enrol_rows(rows).ids

    def action_run(self):
        """Run the engine now for these campaigns: enrol, then send what is due.

        :return: dict with ``enrolled`` and ``processed`` counts
        """
        enrolled = 0
        for campaign in self.filtered(lambda c: c.state == "running"):
            enrolled += campaign._enrol_from_trigger()
        processed = self.env["ecrm.campaign.participant"]._advance_due(campaigns=self)
        return {"enrolled": enrolled, "processed": processed}

    def action_view_participants(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_marketing.ecrm_campaign_participant_action")
        action["domain"] = [("campaign_id", "=", self.id)]
        action["context"] = {"default_campaign_id": self.id}
        return action

    def action_view_sends(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_marketing.ecrm_campaign_send_action")
        action["domain"] = [("campaign_id", "=", self.id)]
        return action

    def action_view_funnel(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_marketing.ecrm_campaign_funnel_action")
        action["domain"] = [("campaign_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # configuration checks
    # ------------------------------------------------------------------

    def _check_ready(self):
        self.ensure_one()
        if not self.step_ids:
            raise UserError(self.env._("Campaign %(name)s has no step.", name=self.name))
        self.step_ids._check_ready()
        self._get_audience_domain()

    def _get_audience_domain(self):
        """The audience filter as a Domain; raises a ValidationError when it is not a valid domain."""
        self.ensure_one()
        try:
            domain = Domain(safe_eval(self.domain or "[]"))
            # validate field names against the model
            domain.validate(self.env["res.partner"])
            self.env["res.partner"]._search(domain)
        except Exception as exc:  # any parse or validation error means the same to the user
            raise ValidationError(
                self.env._(
                    "Campaign %(name)s: the audience filter is not a valid domain (%(error)s).",
                    name=self.name,
                    error=exc,
                )
            ) from exc
        return domain

    # ------------------------------------------------------------------
    # enrolment
    # ------------------------------------------------------------------

    def _audience_sql(self, alias="p"):
        """SQL condition on ``res_partner`` aliased ``alias``: the campaign's audience."""
        self.ensure_one()
        col = SQL.identifier(alias, "id")
        # internal users' partners (partner_share False) are staff, not customers
        conditions = [
            SQL("%s.active", SQL.identifier(alias)),
            SQL("COALESCE(%s.partner_share, TRUE)", SQL.identifier(alias)),
        ]
        domain = self._get_audience_domain()
        if not domain.is_true():
            conditions.append(
                SQL(
                    "%s IN %s", col, self.env["res.partner"].with_context(active_test=False)._search(domain).subselect()
                )
            )
        if self.tag_ids:
            conditions.append(
                SQL(
                    "%s IN (SELECT partner_id FROM res_partner_res_partner_category_rel WHERE category_id IN %s)",
                    col,
                    tuple(self.tag_ids.ids),
                )
            )
        if self.segment_ids:
            conditions.append(SQL("%s IN %s", col, self._partners_in_segments_sql(self.segment_ids)))
        return SQL(" AND ").join(conditions)

    def _partners_in_segments_sql(self, segments):
        """Subquery: partners whose current segment in the campaign's company is one of ``segments``."""
        Partner = self.env["res.partner"]
        if "ecrm_segment_id" in Partner._fields:
            # the segment is company-dependent: let the ORM read the campaign company's value
            query = (
                Partner.with_company(self.company_id or self.env.company)
                .with_context(active_test=False)
                ._search([("ecrm_segment_id", "in", segments.ids)])
            )
            return query.subselect()
        self.env["ecrm.segment.history"].flush_model()
        return SQL(
            """(SELECT partner_id FROM (
                    SELECT DISTINCT ON (partner_id) partner_id, segment_to_id
                      FROM ecrm_segment_history
                     WHERE company_id = %(company)s
                  ORDER BY partner_id, date DESC, id DESC) last
                 WHERE last.segment_to_id IN %(segments)s)""",
            company=self.company_id.id,
            segments=tuple(segments.ids),
        )

    def _enrol_rows(self, rows):
        """Insert participants for ``rows`` [(partner_id, enrolment_key)] in the audience, per the re-entry policy.

        Set-based: one INSERT ... SELECT ... ON CONFLICT DO NOTHING. The database refuses a second
        participation for the same (campaign, customer, occurrence) and a second one enrolled under
        the "once per customer" policy; the policy itself is applied by the same statement (see
        ``_reentry_filter_sql``). The hold-out share is marked right after,
        deterministically from the participant id.

        :return: the created participants
        """
        self.ensure_one()
        if not rows or self.state != "running" or not self.step_ids:
            return self.env["ecrm.campaign.participant"]
        first_step = self.step_ids.sorted(lambda s: (s.sequence, s.id))[0]
        now = fields.Datetime.now()
        self.env["res.partner"].flush_model()
        self.env["ecrm.campaign.participant"].flush_model()
        partner_ids = [row[0] for row in rows]
        keys = [row[1] for row in rows]
        # the same event listed twice, or several events of one customer when the policy admits only
        # one of them (once per customer, every N days): the first one given wins
        distinct = SQL("partner_id, key") if self.reentry == "occurrence" else SQL("partner_id")
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ecrm_campaign_participant
                    (campaign_id, partner_id, company_id, enrolment_key, reentry, state, current_step_id,
                     next_action_date, enrolled_date, create_uid, create_date, write_uid, write_date)
                SELECT %(campaign)s, ev.partner_id, %(company)s, ev.key, %(reentry)s, 'running', %(step)s,
                       %(next)s, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM (SELECT DISTINCT ON (%(distinct)s) partner_id, key, ord
                          FROM unnest(%(partners)s::int[], %(keys)s::varchar[]) WITH ORDINALITY AS u(partner_id, key, ord)
                         WHERE key IS NOT NULL
                      ORDER BY %(distinct)s, ord) ev
                  JOIN res_partner p ON p.id = ev.partner_id
                 WHERE %(audience)s
                   AND (p.company_id IS NULL OR p.company_id = %(company)s)
                   AND %(reentry_filter)s
              ORDER BY ev.ord
                ON CONFLICT DO NOTHING
                RETURNING id
                """,
                campaign=self.id,
                company=self.company_id.id,
                reentry=self.reentry,
                step=first_step.id,
                next=now + first_step._get_delay(),
                now=now,
                uid=self.env.uid,
                distinct=distinct,
                partners=partner_ids,
                keys=keys,
                audience=self._audience_sql("p"),
                reentry_filter=self._reentry_filter_sql(SQL("ev.partner_id"), SQL("ev.key"), now),
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if ids and self.holdout_percent:
            # deterministic and evenly spread: (id * 61) % 100 is a bijection over any 100 consecutive ids
            self.env.cr.execute(
                SQL(
                    """UPDATE ecrm_campaign_participant
                          SET state = 'holdout', current_step_id = NULL, next_action_date = NULL
                        WHERE id = ANY(%(ids)s) AND (id * 61) %% 100 < %(pct)s""",
                    ids=ids,
                    pct=self.holdout_percent,
                )
            )
        participants = self.env["ecrm.campaign.participant"].browse(ids)
        participants.invalidate_recordset()
        return participants

    def _reentry_filter_sql(self, partner_sql, key_sql, now=None):
        """SQL condition: the customer ``partner_sql`` may enrol for the occurrence ``key_sql`` now.

        Never twice for the same occurrence; "once per customer": never if enrolled before; "at most
        every N days": not if enrolled within the last ``reentry_days`` days.
        """
        self.ensure_one()
        now = now or fields.Datetime.now()
        same_occurrence = SQL(
            """NOT EXISTS (SELECT 1 FROM ecrm_campaign_participant cp
                            WHERE cp.campaign_id = %(campaign)s AND cp.partner_id = %(partner)s
                              AND cp.enrolment_key = %(key)s)""",
            campaign=self.id,
            partner=partner_sql,
            key=key_sql,
        )
        if self.reentry == "occurrence":
            return same_occurrence
        since = (
            SQL("AND cp.enrolled_date > %s", now - timedelta(days=self.reentry_days))
            if self.reentry == "interval"
            else SQL()
        )
        return SQL(
            """%(same)s AND NOT EXISTS (SELECT 1 FROM ecrm_campaign_participant cp
                                      WHERE cp.campaign_id = %(campaign)s AND cp.partner_id = %(partner)s %(since)s)""",
            same=same_occurrence,
            campaign=self.id,
            partner=partner_sql,
            since=since,
        )

    def _enrol_from_trigger(self, batch_size=5000):
        """Find the new events of this campaign's trigger and enrol their customers.

        :return: number of participants created
        """
        self.ensure_one()
        if self.state != "running" or self.trigger not in SCHEDULED_TRIGGERS:
            return 0
        events, history_max = self._get_trigger_events_sql()
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                "SELECT ev.partner_id, ev.key FROM (%(events)s) ev WHERE %(reentry)s ORDER BY ev.sort, ev.key",
                events=events,
                reentry=self._reentry_filter_sql(SQL("ev.partner_id"), SQL("ev.key"), now),
            )
        )
        rows = self.env.cr.fetchall()
        created = 0
        for start in range(0, len(rows), batch_size):
            # each batch is kept (savepoint, then commit): enrolment is idempotent (unique per
            # occurrence), a crash loses the current batch only and the re-run enrols it
            with self.env.cr.savepoint():
                created += len(self._enrol_rows(rows[start : start + batch_size]))
            self.env["ir.cron"]._commit_progress(0)
        if history_max:
            # moved only once every row up to it is enrolled: a crash before re-reads them, harmlessly
            self.history_cursor = history_max
        return created

    def _get_trigger_events_sql(self):
        """The trigger's current events: SQL selecting ``partner_id``, ``key`` (the occurrence) and ``sort``.

        The re-entry policy is applied on top by the caller; ``history_max`` is the new history cursor
        (segment triggers) or None.

        :return: (SQL, history_max)
        """
        self.ensure_one()
        now = fields.Datetime.now()
        company = self.company_id.id
        for model in ("sale.order", "sale.order.line", "res.partner", "ecrm.campaign.participant"):
            self.env[model].flush_model()
        if self.trigger == "new_customer":
            return SQL(
                """SELECT p.id AS partner_id, 'customer:' || p.id AS key, p.id AS sort FROM res_partner p
                    WHERE p.create_date >= %(start)s
                      AND (p.customer_rank > 0 OR EXISTS (SELECT 1 FROM sale_order so WHERE so.partner_id = p.id))""",
                start=self.date_start,
            ), None
        if self.trigger == "abandoned_cart":
            # the customer's latest quotation with products, if it is old enough, they did not order
            # since, and they can be emailed; an older cart is never reminded once a newer one exists
            return SQL(
                """SELECT cart.partner_id, 'cart:' || cart.id AS key, cart.id AS sort
                     FROM (SELECT DISTINCT ON (so.partner_id) so.partner_id, so.id, so.create_date
                             FROM sale_order so
                            WHERE so.state = 'draft' AND so.company_id = %(company)s AND so.create_date >= %(newer)s
                              AND EXISTS (SELECT 1 FROM sale_order_line l
                                           WHERE l.order_id = so.id AND l.display_type IS NULL)
                         ORDER BY so.partner_id, so.create_date DESC, so.id DESC) cart
                     JOIN res_partner p ON p.id = cart.partner_id
                    WHERE cart.create_date <= %(older)s
                      AND p.email_normalized IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM mail_blacklist bl
                                       WHERE bl.email = p.email_normalized AND bl.active)
                      AND NOT EXISTS (SELECT 1 FROM sale_order o
                                       WHERE o.partner_id = cart.partner_id AND o.state = 'sale'
                                         AND o.date_order >= cart.create_date)""",
                company=company,
                older=now - timedelta(hours=self.trigger_hours),
                newer=now - timedelta(hours=self.trigger_hours) - timedelta(days=self.trigger_max_age_days or 7),
            ), None
        if self.trigger == "birthday":
            # one occurrence a year: the key carries the year of the birthday itself (not of today's
            # date), so that a window across the new year enrols once
            today = fields.Date.context_today(self)
            occurrences = {}
            for offset in range(self.trigger_days + 1):
                day = today + timedelta(days=offset)
                occurrences.setdefault(day.strftime("%m-%d"), day.year)
                if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
                    occurrences.setdefault("02-29", day.year)  # born on Feb 29th: the 28th in common years
            return SQL(
                """SELECT p.id AS partner_id, 'birthday:' || p.id || ':' || d.year AS key, p.id AS sort
                     FROM res_partner p
                     JOIN unnest(%(days)s::varchar[], %(years)s::int[]) AS d(month_day, year)
                       ON d.month_day = to_char(p.%(field)s, 'MM-DD')
                    WHERE p.%(field)s IS NOT NULL""",
                days=list(occurrences),
                years=list(occurrences.values()),
                field=SQL.identifier(BIRTHDAY_FIELD),
            ), None
        if self.trigger in ("segment_entered", "segment_exited"):
            self.env["ecrm.segment.history"].flush_model()
            column = "segment_to_id" if self.trigger == "segment_entered" else "segment_from_id"
            self.env.cr.execute(
                SQL("SELECT COALESCE(MAX(id), 0) FROM ecrm_segment_history WHERE id > %s", self.history_cursor)
            )
            history_max = self.env.cr.fetchone()[0]
            return SQL(
                """SELECT h.partner_id, 'history:' || h.id AS key, h.id AS sort FROM ecrm_segment_history h
                    WHERE h.id > %(cursor)s AND h.id <= %(max)s AND h.company_id = %(company)s
                      AND h.%(column)s = %(segment)s""",
                cursor=self.history_cursor,
                max=history_max,
                company=company,
                column=SQL.identifier(column),
                segment=self.trigger_segment_id.id,
            ), history_max
        if self.trigger == "inactivity":
            # one occurrence per last order: ordering again and falling asleep again is a new one
            return SQL(
                """SELECT so.partner_id, 'inactive:' || so.partner_id || ':' || MAX(so.id) AS key, so.partner_id AS sort
                     FROM sale_order so
                    WHERE so.state = 'sale' AND so.company_id = %(company)s
                 GROUP BY so.partner_id
                   HAVING MAX(so.date_order) <= %(limit)s""",
                company=company,
                limit=now - timedelta(days=self.trigger_days),
            ), None
        if self.trigger == "post_purchase":
            limit = now - timedelta(days=self.trigger_days)
            return SQL(
                """SELECT so.partner_id, 'order:' || so.id AS key, so.id AS sort
                     FROM sale_order so
                    WHERE so.state = 'sale' AND so.company_id = %(company)s
                      AND so.date_order <= %(limit)s AND so.date_order >= %(since)s""",
                company=company,
                limit=limit,
                since=limit - timedelta(days=self.trigger_max_age_days or 7),
            ), None
        raise UserError(self.env._("Unknown trigger %(trigger)s.", trigger=self.trigger))

    @api.model
    def _enrol_from_event(self, event, partners, **values):
        """Enrol ``partners`` in the running campaigns triggered by the hook ``event``.

        :return: the created participants
        """
        participants = self.env["ecrm.campaign.participant"]
        if event in ("segments.segment_entered", "segments.segment_exited"):
            history = values.get("history")
            if not history:
                return participants
            trigger = "segment_entered" if event.endswith("entered") else "segment_exited"
            campaigns = self.search([("state", "=", "running"), ("trigger", "=", trigger)])
            for campaign in campaigns:
                column = "segment_to_id" if trigger == "segment_entered" else "segment_from_id"
                rows = [
                    (h.partner_id.id, f"history:{h.id}")
                    for h in history
                    if h[column] == campaign.trigger_segment_id and h.company_id == campaign.company_id
                ]
                participants |= campaign._enrol_rows(rows)
            return participants
        trigger = HOOK_TRIGGERS.get(event)
        if not trigger or not partners:
            return participants
        campaigns = self.search([("state", "=", "running"), ("trigger", "=", trigger)])
        detail = (
            values.get("expiry_date") or values.get("tier_to") or values.get("ticket") or values.get("rating") or ""
        )
        if isinstance(detail, models.BaseModel):
            detail = ",".join(str(i) for i in detail.ids)
        for campaign in campaigns:
            rows = [(partner.id, f"{event}:{partner.id}:{detail}") for partner in partners]
            participants |= campaign._enrol_rows(rows)
        return participants

    @api.model
    def _cron_enrol(self):
        """Scheduled action: enrol the customers of every running campaign's trigger, one campaign a batch."""
        campaigns = self.search([("state", "=", "running"), ("trigger", "in", SCHEDULED_TRIGGERS)])
        self.env["ir.cron"]._commit_progress(remaining=len(campaigns))
        for campaign in campaigns:
            campaign._enrol_from_trigger()
            if not self.env["ir.cron"]._commit_progress(1):
                break

    @api.model
    def _cron_select_winners(self):
        """Scheduled action: choose the winning variant of A/B steps whose test period is over."""
        steps = self.env["ecrm.campaign.step"].search(
            [("campaign_id.state", "=", "running"), ("variant_ids", "!=", False), ("winner_variant_id", "=", False)]
        )
        steps._select_winner()

    # ------------------------------------------------------------------
    # measurement
    # ------------------------------------------------------------------

    def _get_statistics(self):
        """Per campaign KPIs in one query each: participants, sends, traces, attributed orders, uplift.

        :return: {campaign_id: {participants, holdout, sent, delivered, opened, clicked, bounced,
            unsubscribed, orders, revenue, conversion_rate, holdout_conversion_rate, uplift}}
        """
        if not self.ids:
            return {}
        for model in ("ecrm.campaign.send", "ecrm.campaign.participant", "mailing.trace", "sale.order"):
            self.env[model].flush_model()
        result = {cid: {} for cid in self.ids}
        self.env.cr.execute(
            SQL(
                """
                SELECT campaign_id,
                       COUNT(*) FILTER (WHERE state != 'holdout'),
                       COUNT(*) FILTER (WHERE state = 'holdout'),
                       COUNT(*) FILTER (WHERE state != 'holdout' AND converted),
                       COUNT(*) FILTER (WHERE state = 'holdout' AND converted)
                  FROM (
                    SELECT cp.campaign_id, cp.state,
                           EXISTS (SELECT 1 FROM sale_order so
                                    WHERE so.partner_id = cp.partner_id AND so.state = 'sale'
                                      AND so.date_order >= cp.enrolled_date
                                      AND so.date_order < cp.enrolled_date + make_interval(days => c.attribution_days)
                           ) AS converted
                      FROM ecrm_campaign_participant cp JOIN ecrm_campaign c ON c.id = cp.campaign_id
                     WHERE cp.campaign_id IN %(ids)s) sub
              GROUP BY campaign_id
                """,
                ids=tuple(self.ids),
            )
        )
        for cid, treated, holdout, treated_conv, holdout_conv in self.env.cr.fetchall():
            treated_rate = 100.0 * treated_conv / treated if treated else 0.0
            holdout_rate = 100.0 * holdout_conv / holdout if holdout else 0.0
            result[cid].update(
                participants=treated + holdout,
                holdout=holdout,
                treated_conversion_rate=treated_rate,
                holdout_conversion_rate=holdout_rate,
                uplift=treated_rate - holdout_rate if holdout else 0.0,
            )
        for row in self.env["ecrm.campaign.send"]._get_kpis(self, ["campaign_id"]):
            values = dict(row)
            cid = values.pop("campaign_id")
            result[cid].update(values)
        return result

    def get_stats(self):
        """Campaign results for the RPC API: per campaign, per step and per variant.

        Keys are ids as strings (valid for JSON-RPC and XML-RPC alike).

        :return: {"<campaign id>": {"campaign": {...kpis}, "steps": {"<step id>": {...}},
            "variants": {"<variant id>": {...}}}}
            KPIs: sent, skipped, delivered, opened, clicked, bounced, unsubscribed, converted,
            orders, revenue, conversion_rate, unsubscribe_rate; the campaign level adds
            participants, holdout, treated_conversion_rate, holdout_conversion_rate, uplift.
        """
        stats = self._get_statistics()
        result = {cid: {"campaign": stats.get(cid, {}), "steps": {}, "variants": {}} for cid in self.ids}
        Send = self.env["ecrm.campaign.send"]
        for row in Send._get_kpis(self, ["campaign_id", "step_id"]):
            values = dict(row)
            result[values.pop("campaign_id")]["steps"][str(values.pop("step_id"))] = values
        for row in Send._get_kpis(self, ["campaign_id", "variant_id"]):
            values = dict(row)
            cid, vid = values.pop("campaign_id"), values.pop("variant_id")
            if vid:
                result[cid]["variants"][str(vid)] = values
        return {str(cid): values for cid, values in result.items()}
