import logging
from collections import defaultdict
from datetime import datetime, time, timedelta

import psycopg2
import pytz

from odoo import api, fields, models
from odoo.tools import SQL

from .ecrm_campaign import REENTRY_POLICIES
from .render_helper import EcrmRenderHelper

_logger = logging.getLogger(__name__)


class EcrmCampaignParticipant(models.Model):
    """A customer going through a campaign: which step comes next and when.

    One participation per (campaign, customer, occurrence): the occurrence (``enrolment_key``) is
    the event that enrolled the customer, e.g. ``birthday:<partner>:<year>``, ``cart:<order>``,
    ``order:<order>``, ``history:<segment history row>``; the campaign's re-entry policy decides
    whether a new occurrence enrols the customer again. Hold-out participants receive nothing and
    serve as the control group of the uplift measurement.
    """

    _name = "ecrm.campaign.participant"
    _description = "Marketing Campaign Participant"
    _order = "id desc"
    _rec_name = "partner_id"

    campaign_id = fields.Many2one("ecrm.campaign", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", "Customer", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    state = fields.Selection(
        [
            ("running", "Running"),
            ("done", "Completed"),
            ("exited", "Exited"),
            ("holdout", "Hold-out"),
        ],
        default="running",
        required=True,
        index=True,
    )
    current_step_id = fields.Many2one("ecrm.campaign.step", "Next Step", ondelete="set null")
    next_action_date = fields.Datetime(index=True)
    enrolled_date = fields.Datetime(required=True, default=fields.Datetime.now)
    enrolment_key = fields.Char(
        "Occurrence",
        required=True,
        readonly=True,
        help="The event that enrolled the customer (cart, order, birthday of a year, segment change...).",
    )
    reentry = fields.Selection(
        REENTRY_POLICIES,
        "Re-entry Policy",
        required=True,
        readonly=True,
        help="The campaign's re-entry policy when the customer was enrolled.",
    )
    exit_reason = fields.Selection(
        [
            ("ordered", "Ordered"),
            ("unsubscribed", "Unsubscribed"),
            ("stopped", "Campaign stopped"),
            ("error", "Sending error"),
        ],
        readonly=True,
    )
    error_message = fields.Text(readonly=True, help="Why the step could not be sent to this customer.")
    send_ids = fields.One2many("ecrm.campaign.send", "participant_id", string="Messages")

    _campaign_partner_occurrence_unique = models.Constraint(
        "UNIQUE (campaign_id, partner_id, enrolment_key)", "A customer takes part in a campaign once per occurrence."
    )
    _campaign_partner_once = models.UniqueIndex(
        "(campaign_id, partner_id) WHERE reentry = 'once'",
        "This campaign enrols a customer only once.",
    )
    _due_index = models.Index("(next_action_date, id) WHERE state = 'running'")

    # ------------------------------------------------------------------
    # engine
    # ------------------------------------------------------------------

    @api.model
    def _cron_advance(self):
        """Scheduled action: send the due steps of running participants, batch by batch."""
        return self._advance_due()

    @api.model
    def _get_batch_size(self):
        return int(self.env["ir.config_parameter"].sudo().get_param("ecrm_marketing.batch_size", 1000))

    @api.model
    def _due_domain(self, campaigns=None):
        domain = [
            ("state", "=", "running"),
            ("next_action_date", "<=", fields.Datetime.now()),
            ("campaign_id.state", "=", "running"),
        ]
        if campaigns is not None:
            domain.append(("campaign_id", "in", campaigns.ids))
        return domain

    @api.model
    def _advance_due(self, campaigns=None, batch_size=None):
        """Process the due participants in batches, committing after each one.

        Each batch runs in a savepoint and is committed by ``_commit_progress``: a failure in the
        middle of a batch loses that batch only, which a re-run redoes; the unique
        (campaign, step, customer) index on ``ecrm.campaign.send`` makes sure nothing is sent twice.

        :return: number of participants processed
        """
        batch_size = batch_size or self._get_batch_size()
        domain = self._due_domain(campaigns)
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=self.search_count(domain))
        processed = 0
        while True:
            batch = self.search(domain, order="next_action_date, id", limit=batch_size)
            if not batch:
                break
            try:
                with self.env.cr.savepoint():
                    batch._process()
            except psycopg2.Error:
                raise  # database trouble (lock, serialization): the batch is redone by the next run
            except Exception:
                # one customer the batch cannot serve (e.g. a template failing on their data) must not
                # block the others: redo the batch one participant at a time, setting aside who fails
                batch._process_one_by_one()
            processed += len(batch)
            if not cron._commit_progress(len(batch)):
                break
        return processed

    def _process_one_by_one(self):
        """Process each participant in its own savepoint; those that fail exit with the error."""
        for participant in self:
            try:
                with self.env.cr.savepoint():
                    participant._process()
            except psycopg2.Error:
                raise
            except Exception as exc:
                _logger.warning("Campaign participant %s set aside: %s", participant.id, exc)
                participant.write(
                    {
                        "state": "exited",
                        "exit_reason": "error",
                        "error_message": str(exc)[:2000],
                        "next_action_date": False,
                    }
                )

    def _process(self):
        """Advance these due participants by one step (exits, quiet hours, condition, cap, send)."""
        # the transaction time, like create_date: sends, traces and blacklist entries compare consistently
        now = self.env.cr.now().replace(microsecond=0)
        self._lock_for_update()
        self._apply_exits()
        todo = self.filtered(lambda p: p.state == "running" and p.current_step_id)
        todo = todo._postpone_quiet_hours(now)
        by_step = defaultdict(lambda: self.browse())
        for participant in todo:
            by_step[participant.current_step_id] |= participant
        for step, participants in by_step.items():
            participants._run_step(step, now)
        # participants without a step left are completed
        self.filtered(lambda p: p.state == "running" and not p.current_step_id).write(
            {"state": "done", "next_action_date": False}
        )

    def _lock_for_update(self):
        """Lock the batch rows so that two cron workers never process the same participant."""
        self.flush_recordset()
        self.env.cr.execute(SQL("SELECT id FROM ecrm_campaign_participant WHERE id IN %s FOR UPDATE", tuple(self.ids)))

    def _apply_exits(self):
        """Exit participants who ordered since their enrolment or unsubscribed (per campaign settings)."""
        if not self:
            return
        for model in ("sale.order", "mail.blacklist", "phone.blacklist", "mailing.subscription", "res.partner"):
            self.env[model].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT cp.id,
                       CASE WHEN c.exit_on_order AND EXISTS (
                                SELECT 1 FROM sale_order so
                                 WHERE so.partner_id = cp.partner_id AND so.state = 'sale'
                                   AND so.date_order >= cp.enrolled_date)
                            THEN 'ordered'
                            WHEN c.exit_on_unsubscribe AND p.email_normalized IS NOT NULL AND (
                                EXISTS (SELECT 1 FROM mail_blacklist bl WHERE bl.email = p.email_normalized AND bl.active)
                                OR EXISTS (
                                    SELECT 1 FROM mailing_subscription ms
                                      JOIN mailing_contact mc ON mc.id = ms.contact_id
                                      JOIN ecrm_campaign_mailing_list_rel rel
                                        ON rel.mailing_list_id = ms.list_id AND rel.ecrm_campaign_id = c.id
                                     WHERE ms.opt_out AND mc.email_normalized = p.email_normalized))
                            THEN 'unsubscribed'
                            -- a text message's STOP link blacklists the number: it unsubscribes from the
                            -- campaigns that text
                            WHEN c.exit_on_unsubscribe AND p.phone_sanitized IS NOT NULL
                                 AND EXISTS (SELECT 1 FROM ecrm_campaign_step st
                                              WHERE st.campaign_id = c.id AND st.channel = 'sms')
                                 AND EXISTS (SELECT 1 FROM phone_blacklist pbl
                                              WHERE pbl.number = p.phone_sanitized AND pbl.active)
                            THEN 'unsubscribed'
                       END
                  FROM ecrm_campaign_participant cp
                  JOIN ecrm_campaign c ON c.id = cp.campaign_id
                  JOIN res_partner p ON p.id = cp.partner_id
                 WHERE cp.id IN %(ids)s
                """,
                ids=tuple(self.ids),
            )
        )
        exits = defaultdict(list)
        for pid, reason in self.env.cr.fetchall():
            if reason:
                exits[reason].append(pid)
        for reason, ids in exits.items():
            self.browse(ids).write(
                {"state": "exited", "exit_reason": reason, "next_action_date": False, "current_step_id": False}
            )

    def _postpone_quiet_hours(self, now):
        """Move participants who are in their quiet hours to the end of them; return the others."""
        to_send = self.browse()
        postponed = defaultdict(list)
        for participant in self:
            campaign = participant.campaign_id
            start, end = campaign.quiet_hour_start, campaign.quiet_hour_end
            if start == end:
                to_send |= participant
                continue
            tz_name = participant.partner_id.tz or campaign.company_id.partner_id.tz or "UTC"
            try:
                tz = pytz.timezone(tz_name)
            except pytz.UnknownTimeZoneError:
                tz = pytz.utc
            local = pytz.utc.localize(now).astimezone(tz)
            hour = local.hour + local.minute / 60.0
            quiet = start <= hour < end if start < end else (hour >= start or hour < end)
            if not quiet:
                to_send |= participant
                continue
            end_day = local.date() if hour < end else local.date() + timedelta(days=1)
            end_time = time(int(end), round((end % 1) * 60) % 60)
            resume = tz.localize(datetime.combine(end_day, end_time)).astimezone(pytz.utc).replace(tzinfo=None)
            postponed[resume].append(participant.id)
        for resume, ids in postponed.items():
            self.browse(ids).write({"next_action_date": resume})
        return to_send

    def _run_step(self, step, now):
        """Send ``step`` to these participants (all at that step) and move them to the next one."""
        Send = self.env["ecrm.campaign.send"]
        campaign = step.campaign_id
        skipped = {}  # participant id -> reason
        condition_ok = self._check_condition(step)
        for participant in self:
            if participant.id not in condition_ok:
                skipped[participant.id] = "condition"
        remaining = self.filtered(lambda p: p.id not in skipped)
        if campaign.frequency_cap:
            capped = remaining._get_capped_partners(campaign, now)
            for participant in remaining:
                if participant.partner_id.id in capped:
                    skipped[participant.id] = "frequency_cap"
            remaining = remaining.filtered(lambda p: p.id not in skipped)
        unreachable = step._get_unreachable(remaining)
        skipped.update(unreachable)
        remaining = remaining.filtered(lambda p: p.id not in skipped)

        variants = step._pick_variants(remaining)
        rows = [(p, variants[p.id], "sent", False) for p in remaining]
        rows += [(p, self.env["ecrm.campaign.variant"], "skipped", skipped[p.id]) for p in self if p.id in skipped]
        inserted = Send._insert_rows(step, rows, now)
        if inserted:
            helper = EcrmRenderHelper(self.env, inserted.mapped("partner_id"), campaign)
            by_variant = defaultdict(lambda: Send)
            for send in inserted.filtered(lambda s: s.state == "sent"):
                by_variant[send.variant_id] |= send
            queue = {"email": step._queue_emails, "sms": step._queue_sms, "webhook": step._queue_webhooks}[step.channel]
            for variant, sends in by_variant.items():
                queue(sends, variant, helper)
        # move on, whether the step was sent, skipped, or already sent by an earlier run
        next_step = step._get_next_step()
        if next_step:
            self.write({"current_step_id": next_step.id, "next_action_date": now + next_step._get_delay()})
        else:
            self.write({"current_step_id": False, "next_action_date": False, "state": "done"})

    def _check_condition(self, step):
        """Ids of the participants meeting ``step.condition`` since the previous step."""
        if step.condition == "none":
            return set(self.ids)
        previous = step._get_previous_step()
        for model in ("ecrm.campaign.send", "mailing.trace", "sale.order"):
            self.env[model].flush_model()
        base = step.condition.removeprefix("not_")
        if base == "ordered":
            test = SQL(
                """EXISTS (SELECT 1 FROM sale_order so WHERE so.partner_id = cp.partner_id AND so.state = 'sale'
                              AND so.date_order >= COALESCE(s.date, cp.enrolled_date))"""
            )
        elif base == "opened":
            test = SQL("(t.open_datetime IS NOT NULL OR t.trace_status IN ('open', 'reply'))")
        else:
            test = SQL("t.links_click_datetime IS NOT NULL")
        self.env.cr.execute(
            SQL(
                """SELECT cp.id FROM ecrm_campaign_participant cp
                   LEFT JOIN ecrm_campaign_send s ON s.participant_id = cp.id AND s.step_id = %(prev)s
                   LEFT JOIN mailing_trace t ON t.id = s.mailing_trace_id
                    WHERE cp.id IN %(ids)s AND %(test)s""",
                prev=previous.id or 0,
                ids=tuple(self.ids),
                test=test,
            )
        )
        matching = {row[0] for row in self.env.cr.fetchall()}
        return matching if not step.condition.startswith("not_") else set(self.ids) - matching

    def _get_capped_partners(self, campaign, now):
        """Partner ids who already received ``campaign.frequency_cap`` messages over the cap period."""
        self.env["ecrm.campaign.send"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT partner_id FROM ecrm_campaign_send
                    WHERE partner_id IN %(partners)s AND state = 'sent' AND date > %(since)s
                 GROUP BY partner_id HAVING COUNT(*) >= %(cap)s""",
                partners=tuple(self.partner_id.ids),
                since=now - timedelta(days=campaign.frequency_cap_days),
                cap=campaign.frequency_cap,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}
