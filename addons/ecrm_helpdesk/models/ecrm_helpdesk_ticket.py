from collections import defaultdict
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL
from odoo.tools.mail import generate_tracking_message_id

from .ecrm_helpdesk_sla import PRIORITIES

CHANNELS = [
    ("email", "Email"),
    ("portal", "Portal"),
    ("phone", "Phone"),
    ("web", "Web Form"),
]
SLA_STATUSES = [
    ("none", "No SLA"),
    ("running", "Running"),
    ("met", "Met"),
    ("failed", "Failed"),
]
# the two SLA targets of a ticket: (name, deadline field, warning date field, warned flag, breached flag)
SLA_TARGETS = [
    (
        "response",
        "sla_response_deadline",
        "sla_response_warning_date",
        "sla_response_warned",
        "sla_response_breached",
    ),
    (
        "resolution",
        "sla_resolution_deadline",
        "sla_resolution_warning_date",
        "sla_resolution_warned",
        "sla_resolution_breached",
    ),
]


class EcrmHelpdeskTicket(models.Model):
    """A customer request: from the team's email alias, the portal, the phone or a web form.

    The ticket follows its team's stages; reaching a closed stage stops the SLA clock and
    asks the customer for a rating. SLA deadlines are set when the ticket is created (and
    again when its team, priority, type or customer changes) from the first matching
    ``ecrm.helpdesk.sla`` policy, counted in the team's working calendar.
    """

    _name = "ecrm.helpdesk.ticket"
    _description = "Helpdesk Ticket"
    _inherit = ["portal.mixin", "rating.mixin", "mail.activity.mixin"]
    _primary_email = "partner_email"
    _order = "priority desc, id desc"
    _rec_names_search = ["name", "number", "partner_email"]
    _mail_post_access = "read"

    number = fields.Char(string="Reference", readonly=True, copy=False, index="trigram", default="/")
    name = fields.Char(string="Subject", required=True, tracking=True)
    description = fields.Html()
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    partner_id = fields.Many2one("res.partner", string="Customer", index=True, tracking=True)
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id", store=True, index=True)
    partner_email = fields.Char(
        "Contact Email",
        compute="_compute_partner_email",
        store=True,
        readonly=False,
        help="Where answers are sent.",
    )
    partner_name = fields.Char("Contact Name", compute="_compute_partner_email", store=True, readonly=False)
    sale_order_ids = fields.Many2many(
        "sale.order",
        "ecrm_helpdesk_ticket_sale_order_rel",
        "ticket_id",
        "order_id",
        string="Sales Orders",
        domain="[('partner_id.commercial_partner_id', '=', commercial_partner_id)]",
    )
    sale_order_count = fields.Integer(compute="_compute_sale_order_count")
    product_ids = fields.Many2many(
        "product.product",
        "ecrm_helpdesk_ticket_product_rel",
        "ticket_id",
        "product_id",
        string="Products",
    )
    team_id = fields.Many2one("ecrm.helpdesk.team", index=True, tracking=True)
    user_id = fields.Many2one(
        "res.users",
        string="Agent",
        index=True,
        tracking=True,
        domain=[("share", "=", False)],
    )
    stage_id = fields.Many2one(
        "ecrm.helpdesk.stage",
        index=True,
        tracking=True,
        copy=False,
        group_expand="_read_group_stage_ids",
        domain="[('team_id', 'in', [team_id, False])]",
    )
    is_closed = fields.Boolean(related="stage_id.is_closed", store=True, index=True, string="Closed")
    priority = fields.Selection(PRIORITIES, default="0", required=True, index=True, tracking=True)
    type_id = fields.Many2one("ecrm.helpdesk.type", index=True)
    tag_ids = fields.Many2many("ecrm.helpdesk.tag", string="Tags")
    channel = fields.Selection(CHANNELS, default="phone", required=True, index=True)
    date_open = fields.Datetime(
        "Opened on",
        default=fields.Datetime.now,
        required=True,
        readonly=True,
        copy=False,
        index=True,
        help="When the customer asked: the start of the SLA clock (can be given when importing older tickets).",
    )
    date_last_stage_update = fields.Datetime("Last Stage Update", readonly=True, copy=False)
    assign_date = fields.Datetime("Assigned on", readonly=True, copy=False)
    first_response_date = fields.Datetime("First Response on", readonly=True, copy=False)
    close_date = fields.Datetime("Closed on", readonly=True, copy=False, index=True)
    first_response_hours = fields.Float(
        "Hours to First Response",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="Clock hours from creation.",
    )
    resolution_hours = fields.Float(
        "Hours to Resolution",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="Clock hours from creation to closing.",
    )
    # SLA
    sla_id = fields.Many2one(
        "ecrm.helpdesk.sla",
        string="SLA Policy",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    sla_response_deadline = fields.Datetime("First Response Deadline", readonly=True, copy=False)
    sla_resolution_deadline = fields.Datetime("Resolution Deadline", readonly=True, copy=False)
    sla_response_warning_date = fields.Datetime(readonly=True, copy=False)
    sla_resolution_warning_date = fields.Datetime(readonly=True, copy=False)
    sla_response_warned = fields.Boolean(readonly=True, copy=False)
    sla_resolution_warned = fields.Boolean(readonly=True, copy=False)
    sla_response_breached = fields.Boolean(readonly=True, copy=False)
    sla_resolution_breached = fields.Boolean(readonly=True, copy=False)
    sla_response_status = fields.Selection(
        SLA_STATUSES,
        "First Response SLA",
        compute="_compute_sla_status",
        store=True,
        copy=False,
    )
    sla_resolution_status = fields.Selection(
        SLA_STATUSES,
        "Resolution SLA",
        compute="_compute_sla_status",
        store=True,
        copy=False,
    )
    sla_status = fields.Selection(
        SLA_STATUSES,
        "SLA Status",
        compute="_compute_sla_status",
        store=True,
        copy=False,
        index=True,
    )
    sla_deadline = fields.Datetime(
        "Next SLA Deadline",
        compute="_compute_sla_next",
        store=True,
        copy=False,
        help="The next deadline still running.",
    )
    sla_next_action_date = fields.Datetime(
        compute="_compute_sla_next",
        store=True,
        copy=False,
        index="btree_not_null",
        help="When the escalation job has something to do on this ticket (a warning or a breach).",
    )
    low_rating_handled_id = fields.Many2one("rating.rating", readonly=True, copy=False)

    # ------------------------------------------------------------------
    # computes
    # ------------------------------------------------------------------

    @api.depends("partner_id")
    def _compute_partner_email(self):
        for ticket in self:
            if ticket.partner_id:
                ticket.partner_email = ticket.partner_id.email or ticket.partner_email
                ticket.partner_name = ticket.partner_id.name
            else:
                ticket.partner_email = ticket.partner_email
                ticket.partner_name = ticket.partner_name

    @api.depends("number", "name")
    def _compute_display_name(self):
        for ticket in self:
            ticket.display_name = (
                f"[{ticket.number}] {ticket.name}" if ticket.number and ticket.number != "/" else (ticket.name or "")
            )

    @api.depends("sale_order_ids")
    def _compute_sale_order_count(self):
        for ticket in self:
            ticket.sale_order_count = len(ticket.sale_order_ids)

    def _compute_access_url(self):  # pylint: disable=missing-return
        super()._compute_access_url()
        for ticket in self:
            ticket.access_url = f"/my/tickets/{ticket.id}"

    @api.model
    def _sla_target_status(self, deadline, done_date, breached, now):
        if not deadline:
            return "none"
        if done_date:
            return "met" if done_date <= deadline else "failed"
        if breached or deadline < now:
            return "failed"
        return "running"

    @api.depends(
        "sla_id",
        "sla_response_deadline",
        "sla_resolution_deadline",
        "sla_response_breached",
        "sla_resolution_breached",
        "first_response_date",
        "close_date",
    )
    def _compute_sla_status(self):
        now = fields.Datetime.now()
        for ticket in self:
            response = self._sla_target_status(
                ticket.sla_response_deadline,
                ticket.first_response_date or ticket.close_date,
                ticket.sla_response_breached,
                now,
            )
            resolution = self._sla_target_status(
                ticket.sla_resolution_deadline,
                ticket.close_date,
                ticket.sla_resolution_breached,
                now,
            )
            statuses = {response, resolution} - {"none"}
            ticket.sla_response_status = response
            ticket.sla_resolution_status = resolution
            ticket.sla_status = (
                "failed"
                if "failed" in statuses
                else "running"
                if "running" in statuses
                else "met"
                if statuses
                else "none"
            )

    @api.depends(
        "sla_response_deadline",
        "sla_resolution_deadline",
        "sla_response_warning_date",
        "sla_resolution_warning_date",
        "sla_response_warned",
        "sla_resolution_warned",
        "sla_response_breached",
        "sla_resolution_breached",
        "first_response_date",
        "close_date",
    )
    def _compute_sla_next(self):
        for ticket in self:
            deadlines, actions = [], []
            for (
                target,
                deadline_field,
                warning_field,
                warned_field,
                breached_field,
            ) in SLA_TARGETS:
                done = ticket.close_date or (target == "response" and ticket.first_response_date)
                deadline = ticket[deadline_field]
                if done or not deadline:
                    continue
                if not ticket[breached_field]:
                    deadlines.append(deadline)
                    actions.append(deadline)
                    if ticket[warning_field] and not ticket[warned_field]:
                        actions.append(ticket[warning_field])
            ticket.sla_deadline = min(deadlines, default=False)
            ticket.sla_next_action_date = min(actions, default=False)

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        team_id = self.env.context.get("default_team_id")
        if team_id:
            return self.env["ecrm.helpdesk.stage"].search(
                [("team_id", "in", [team_id, False])] if team_id else [],
                order=stages._order,
            )
        return stages

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        now = fields.Datetime.now()
        default_company_id = self.env.context.get("default_company_id") or self.env.company.id
        teams = self.env["ecrm.helpdesk.team"]
        default_team = None
        for vals in vals_list:
            if not vals.get("team_id") and "default_team_id" not in self.env.context:
                if default_team is None:
                    default_team = teams.search(
                        [
                            (
                                "company_id",
                                "=",
                                vals.get("company_id") or default_company_id,
                            )
                        ],
                        limit=1,
                    )
                vals["team_id"] = default_team.id
        # stage, sequence number and assignment, grouped by team
        by_team = defaultdict(list)
        for vals in vals_list:
            team_id = vals.get("team_id") or self.env.context.get("default_team_id")
            if team_id:
                by_team[team_id].append(vals)
                vals.setdefault("company_id", teams.browse(team_id).company_id.id)
        for team_id, team_vals in by_team.items():
            team = teams.browse(team_id)
            if any(not vals.get("stage_id") for vals in team_vals):
                first_stage = team._get_first_stage()
                for vals in team_vals:
                    vals.setdefault("stage_id", first_stage.id)
            to_assign = [vals for vals in team_vals if not vals.get("user_id")]
            if to_assign and team.assignment_method != "manual":
                for vals, user in zip(to_assign, team._get_assignees(len(to_assign)), strict=True):
                    if user:
                        vals["user_id"] = user.id
        sequence = self.env["ir.sequence"]
        for vals in vals_list:
            if vals.get("number", "/") == "/":
                company = vals.get("company_id") or default_company_id
                vals["number"] = (
                    sequence.with_company(company).next_by_code("ecrm.helpdesk.ticket", sequence_date=now) or "/"
                )
            if vals.get("user_id"):
                vals["assign_date"] = now
            vals["date_last_stage_update"] = now
        tickets = super().create(vals_list)
        tickets._sla_apply()
        for partner, partner_tickets in tickets.filtered("partner_id").grouped("partner_id").items():
            partner_tickets.message_subscribe(partner_ids=partner.ids)
        return tickets

    def write(self, vals):
        now = fields.Datetime.now()
        if vals.get("team_id") and "stage_id" not in vals:
            team = self.env["ecrm.helpdesk.team"].browse(vals["team_id"])
            moved = self.filtered(lambda t: t.stage_id.team_id and t.stage_id.team_id != team)
            if moved:
                # the old team's stage makes no sense in the new team: restart in its first stage
                moved.write(dict(vals, stage_id=team._get_first_stage().id))
                return (self - moved).write(vals) if self - moved else True
        if "user_id" in vals:
            vals["assign_date"] = now if vals["user_id"] else False
        closing = reopening = self.browse()
        if "stage_id" in vals:
            stage = self.env["ecrm.helpdesk.stage"].browse(vals["stage_id"])
            vals["date_last_stage_update"] = now
            if stage.is_closed:
                closing = self.filtered(lambda t: not t.is_closed)
            else:
                reopening = self.filtered("is_closed")
        result = super().write(vals)
        if closing:
            closing._set_closed(now)
        if reopening:
            reopening.write({"close_date": False, "resolution_hours": 0.0})
        if {
            "team_id",
            "priority",
            "type_id",
            "partner_id",
        } & vals.keys() and not self.env.context.get("ecrm_helpdesk_keep_sla"):
            self.filtered(lambda t: not t.is_closed)._sla_apply()
        if vals.get("partner_id"):
            self.message_subscribe(partner_ids=[vals["partner_id"]])
        if closing:
            closing._send_rating_request()
        return result

    def _set_closed(self, now):
        for ticket in self:
            ticket.close_date = now
            ticket.resolution_hours = (now - ticket.date_open).total_seconds() / 3600

    # ------------------------------------------------------------------
    # mail
    # ------------------------------------------------------------------

    @api.model
    def message_new(self, msg_dict, custom_values=None):
        """A mail to a team alias: a new ticket of that team, from the sender."""
        values = dict(custom_values or {})
        values.setdefault("channel", "email")
        values.setdefault("description", msg_dict.get("body"))
        if msg_dict.get("author_id"):
            values.setdefault("partner_id", msg_dict["author_id"])
        values.setdefault("name", msg_dict.get("subject") or self.env._("No Subject"))
        return super().message_new(msg_dict, custom_values=values)

    def _message_post_after_hook(self, message, msg_values):
        """The first public answer of an internal user is the first response of the SLA."""
        result = super()._message_post_after_hook(message, msg_values)
        pending = self.filtered(lambda t: not t.first_response_date)
        if pending and msg_values.get("message_type") in ("comment", "email"):
            comment_subtype_id = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
            author = self.env["res.partner"].browse(msg_values.get("author_id"))
            if msg_values.get("subtype_id") == comment_subtype_id and any(
                not user.share
                for user in author.sudo().user_ids  # sudo: read the author's users to know if staff
            ):
                now = fields.Datetime.now()
                for ticket in pending:
                    ticket.first_response_date = now
                    ticket.first_response_hours = (now - ticket.date_open).total_seconds() / 3600
        return result

    # ------------------------------------------------------------------
    # SLA
    # ------------------------------------------------------------------

    @api.model
    def _sla_plan(self, calendar, start, hours):
        """The datetime ``hours`` working hours after ``start`` on ``calendar`` (holidays excluded)."""
        if not hours:
            return False
        if not calendar:
            return start + timedelta(hours=hours)
        return calendar.plan_hours(hours, start, compute_leaves=True) or False

    def _sla_apply(self):
        """Match the SLA policy of each ticket and (re)compute its deadlines from its opening date."""
        if not self:
            return
        # sudo: agents apply policies they may not read (policies are configured by managers)
        policies = self.env["ecrm.helpdesk.sla"].sudo().search([("company_id", "in", self.company_id.ids + [False])])
        matches = policies._match_tickets(self)
        planned = {}  # tickets created together share their opening date: plan each deadline once

        def plan(calendar, start, hours):
            key = (calendar.id, start, hours)
            if key not in planned:
                planned[key] = self._sla_plan(calendar, start, hours)
            return planned[key]

        for ticket in self:
            sla = matches[ticket.id]
            start = ticket.date_open or fields.Datetime.now()
            calendar = ticket.team_id.resource_calendar_id
            response = plan(calendar, start, sla.response_hours) if sla else False
            resolution = plan(calendar, start, sla.resolution_hours) if sla else False
            warn = timedelta(hours=sla.warning_hours) if sla and sla.warning_hours else None
            values = {
                "sla_id": sla.id,
                "sla_response_deadline": response,
                "sla_resolution_deadline": resolution,
                "sla_response_warning_date": response - warn if response and warn else False,
                "sla_resolution_warning_date": resolution - warn if resolution and warn else False,
                "sla_response_warned": False,
                "sla_resolution_warned": False,
                "sla_response_breached": False,
                "sla_resolution_breached": False,
            }
            ticket.update(values)

    @api.model
    def _sla_todo_domain(self, now=None):
        """Open tickets on which the escalation job has a warning or a breach to handle."""
        return Domain("is_closed", "=", False) & Domain("sla_next_action_date", "<=", now or fields.Datetime.now())

    @api.model
    def _cron_sla_escalation(self, batch_size=500):
        """Scheduled action: warn before SLA deadlines and escalate breaches, in committed batches.

        Each warning and each breach is handled once: handling it sets its flag on the ticket,
        which moves the ticket's ``sla_next_action_date`` past now (or clears it), so a re-run
        or a run resumed after a crash picks up only what is left.
        """
        now = fields.Datetime.now()
        domain = self._sla_todo_domain(now)
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=self.search_count(domain))
        while True:
            tickets = self.search(domain, limit=batch_size, order="sla_next_action_date, id")
            if not tickets:
                break
            tickets._sla_escalate(now)
            if not cron._commit_progress(len(tickets)):
                break

    def _sla_escalate(self, now=None):
        """Handle the due SLA warnings and breaches of ``self`` (a batch of open tickets), set-based.

        A warning logs a note and gives the agent (or the team lead) a to-do activity. A breach
        logs a note and, as configured on the policy, gives the team lead (or the agent) an
        activity, raises the priority one step and reassigns the ticket. The matched policy is
        kept when the priority is raised: a breach does not move the goalposts.

        Notes and activities are inserted in two statements for the whole batch (no notification
        is sent: the activity appears in the assignee's activity menu); flags, priorities and
        agents are written with one ``write`` per distinct value.

        :return: dict with the ticket ids warned and breached
        """
        now = now or fields.Datetime.now()
        updates = defaultdict(dict)  # ticket id -> values to write
        bodies, activities = {}, []
        breached_ids, warned_ids = [], []
        labels = {"response": self.env._("first response"), "resolution": self.env._("resolution")}
        priority_labels = dict(self._fields["priority"]._description_selection(self.env))
        for ticket in self:
            lines = []
            sla = ticket.sla_id
            ticket_breached = False
            for target, deadline_field, warning_field, warned_field, breached_field in SLA_TARGETS:
                deadline = ticket[deadline_field]
                done = ticket.close_date or (target == "response" and ticket.first_response_date)
                if not deadline or done:
                    continue
                if deadline <= now and not ticket[breached_field]:
                    updates[ticket.id][breached_field] = True
                    if not ticket[warned_field]:
                        updates[ticket.id][warned_field] = True
                    ticket_breached = True
                    lines.append(
                        self.env._(
                            "SLA %(policy)s breached: the %(target)s was due on %(deadline)s (UTC).",
                            policy=sla.name,
                            target=labels[target],
                            deadline=deadline,
                        )
                    )
                    user = ticket.team_id.leader_id or ticket.user_id
                    if sla.breach_notify and user:
                        activities.append(
                            (
                                ticket,
                                user,
                                self.env._("SLA breached: %(ticket)s", ticket=ticket.display_name),
                                now.date(),
                            )
                        )
                elif ticket[warning_field] and ticket[warning_field] <= now and not ticket[warned_field]:
                    updates[ticket.id][warned_field] = True
                    warned_ids.append(ticket.id)
                    lines.append(
                        self.env._(
                            "SLA %(policy)s: the %(target)s is due on %(deadline)s (UTC).",
                            policy=sla.name,
                            target=labels[target],
                            deadline=deadline,
                        )
                    )
                    user = ticket.user_id or ticket.team_id.leader_id
                    if user:
                        activities.append(
                            (
                                ticket,
                                user,
                                self.env._("SLA deadline soon: %(ticket)s", ticket=ticket.display_name),
                                deadline.date(),
                            )
                        )
            if ticket_breached:
                breached_ids.append(ticket.id)
                if sla.breach_raise_priority and ticket.priority < "3":
                    new_priority = str(int(ticket.priority) + 1)
                    updates[ticket.id]["priority"] = new_priority
                    lines.append(self.env._("Priority raised to %(priority)s.", priority=priority_labels[new_priority]))
                if sla.breach_user_id and ticket.user_id != sla.breach_user_id:
                    updates[ticket.id]["user_id"] = sla.breach_user_id.id
                    lines.append(self.env._("Reassigned to %(agent)s.", agent=sla.breach_user_id.name))
            if lines:
                bodies[ticket.id] = Markup("<p>%s</p>") % Markup("<br/>").join(lines)
        # the note says what changed: no tracking message on top of it
        quiet = self.with_context(tracking_disable=True, ecrm_helpdesk_keep_sla=True)
        groups = defaultdict(list)
        for ticket_id, values in updates.items():
            groups[tuple(sorted(values.items()))].append(ticket_id)
        for values, ids in groups.items():
            quiet.browse(ids).write(dict(values))
        self._sla_insert_notes(bodies, now)
        self._sla_insert_activities(activities, now)
        return {"warned": warned_ids, "breached": breached_ids}

    @api.model
    def _sla_note_defaults(self):
        """Author, sender and reply-to of the escalation notes (as ``_message_log_batch`` sets them)."""
        key = ("ecrm_helpdesk_sla_note_defaults", self.env.uid)
        cache = self.env.cr.cache
        if key not in cache:
            author_id, email_from = self._message_compute_author(None, None)
            reply_to = self.env["mail.thread"]._notify_get_reply_to(default=email_from, author_id=author_id)[False]
            cache[key] = (author_id, email_from, reply_to)
        return cache[key]

    def _sla_insert_notes(self, bodies, now):
        """Log the internal notes ``bodies`` ({ticket id: html}) in one INSERT (as _message_log_batch would)."""
        if not bodies:
            return
        self.env.flush_all()
        author_id, email_from, reply_to = self._sla_note_defaults()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO mail_message (model, res_id, body, message_type, subtype_id, is_internal, author_id,
                                          email_from, reply_to, message_id, email_add_signature, date,
                                          create_uid, create_date, write_uid, write_date)
                SELECT %(model)s, note.res_id, note.body, 'notification', %(subtype_id)s, TRUE, %(author_id)s,
                       %(email_from)s, %(reply_to)s, %(message_id)s, FALSE, %(now)s, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(res_ids)s::int[], %(bodies)s::text[]) AS note(res_id, body)
                """,
                model=self._name,
                subtype_id=self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
                author_id=author_id,
                email_from=email_from,
                reply_to=reply_to,
                message_id=generate_tracking_message_id("message-notify"),
                now=now,
                uid=self.env.uid,
                res_ids=list(bodies),
                bodies=[str(body) for body in bodies.values()],
            )
        )
        self.env["mail.message"].invalidate_model()
        self.browse(list(bodies)).invalidate_recordset(["message_ids"])

    def _sla_insert_activities(self, activities, now):
        """Schedule to-do activities [(ticket, user, summary, deadline)] in one INSERT."""
        if not activities:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO mail_activity (res_model_id, res_model, res_id, res_name, activity_type_id, summary,
                                           date_deadline, user_id, user_tz, automated, active,
                                           create_uid, create_date, write_uid, write_date)
                SELECT %(model_id)s, %(model)s, act.res_id, act.res_name, %(type_id)s, act.summary, act.deadline,
                       act.user_id, u_partner.tz, TRUE, TRUE, %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM unnest(%(res_ids)s::int[], %(names)s::text[], %(summaries)s::text[], %(deadlines)s::date[],
                              %(user_ids)s::int[]) AS act(res_id, res_name, summary, deadline, user_id)
                  JOIN res_users u ON u.id = act.user_id
                  JOIN res_partner u_partner ON u_partner.id = u.partner_id
                """,
                model_id=self.env["ir.model"]._get_id(self._name),
                model=self._name,
                type_id=self.env["ir.model.data"]._xmlid_to_res_id("mail.mail_activity_data_todo"),
                uid=self.env.uid,
                now=now,
                res_ids=[ticket.id for ticket, _user, _summary, _deadline in activities],
                names=[ticket.display_name for ticket, _user, _summary, _deadline in activities],
                summaries=[summary for _ticket, _user, summary, _deadline in activities],
                deadlines=[deadline for _ticket, _user, _summary, deadline in activities],
                user_ids=[user.id for _ticket, user, _summary, _deadline in activities],
            )
        )
        self.env["mail.activity"].invalidate_model()
        self.browse(list({ticket.id for ticket, _user, _summary, _deadline in activities})).invalidate_recordset()

    # ------------------------------------------------------------------
    # rating
    # ------------------------------------------------------------------

    def _send_rating_request(self):
        template = self.env.ref("ecrm_helpdesk.mail_template_ticket_rating", raise_if_not_found=False)
        if not template:
            return
        for ticket in self.filtered(lambda t: t.team_id.use_rating and t.partner_id):
            ticket.rating_send_request(template, lang=ticket.partner_id.lang, force_send=False)

    def rating_apply(
        self,
        rate,
        token=None,
        rating=None,
        feedback=None,
        subtype_xmlid=None,
        notify_delay_send=False,
    ):
        """Store the customer's rating; a low one gets a follow-up activity and the helpdesk.low_rating event."""
        rating = super().rating_apply(
            rate,
            token=token,
            rating=rating,
            feedback=feedback,
            subtype_xmlid=subtype_xmlid,
            notify_delay_send=notify_delay_send,
        )
        self.browse(rating.res_id)._handle_low_rating(rating)
        return rating

    def _handle_low_rating(self, rating):
        """Follow a low rating up once (a customer may re-submit the same rating with feedback)."""
        self.ensure_one()
        if not rating.rating or rating.rating > self.team_id.low_rating_threshold:
            return False
        if self.low_rating_handled_id == rating:
            return False
        self.low_rating_handled_id = rating
        user = self.team_id.leader_id or self.user_id
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._(
                "Low rating (%(rating)s/5): call the customer back",
                rating=int(rating.rating),
            ),
            note=rating.feedback or False,
            user_id=user.id or self.env.uid,
        )
        if self.partner_id:
            self.partner_id._ecrm_notify_event("helpdesk.low_rating", ticket=self, rating=rating)
        return True

    # ------------------------------------------------------------------
    # actions
    # ------------------------------------------------------------------

    def action_assign(self):
        """Assign the unassigned tickets of ``self`` by their team's assignment method.

        :return: True
        """
        for team, tickets in self.filtered(lambda t: not t.user_id and t.team_id).grouped("team_id").items():
            for ticket, user in zip(tickets, team._get_assignees(len(tickets)), strict=True):
                if user:
                    ticket.user_id = user
        return True

    def action_assign_to_me(self):
        """Take the tickets: the current user becomes their agent."""
        self.write({"user_id": self.env.uid})
        return True

    def action_close(self, stage_id=None):
        """Move the tickets to a closed stage (``stage_id`` or the first closed stage of their team).

        :raise UserError: when the stage is not a closed stage or the team has none
        :return: True
        """
        if stage_id:
            stage = self.env["ecrm.helpdesk.stage"].browse(stage_id)
            if not stage.is_closed:
                raise UserError(self.env._("Stage %(stage)s is not a closed stage.", stage=stage.name))
            self.write({"stage_id": stage.id})
            return True
        for team, tickets in self.grouped("team_id").items():
            stage = team._get_closed_stage() if team else self.env["ecrm.helpdesk.stage"]
            if not stage:
                raise UserError(
                    self.env._(
                        "Team %(team)s has no closed stage to move the tickets to.",
                        team=team.display_name,
                    )
                )
            tickets.write({"stage_id": stage.id})
        return True

    def action_preview_ticket(self):
        """Open the ticket as the customer sees it on the portal."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "target": "self",
            "url": self.get_portal_url(),
        }

    def action_open_sale_orders(self):
        """Open the sales orders linked to the ticket."""
        self.ensure_one()
        orders = self.sale_order_ids
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        if len(orders) == 1:
            action.update({"views": [(False, "form")], "res_id": orders.id, "view_mode": "form"})
        else:
            action.update({"domain": [("id", "in", orders.ids)], "context": {"create": False}})
        return action

    def _get_refundable_invoices(self):
        self.ensure_one()
        return self.sale_order_ids.invoice_ids.filtered(
            lambda move: move.state == "posted" and move.move_type == "out_invoice"
        )

    def action_create_credit_note(self):
        """Open Odoo's credit note wizard on the posted invoices of the linked orders.

        :raise UserError: when no linked order has a posted customer invoice
        :return: the ``account.move.reversal`` wizard action
        """
        self.ensure_one()
        invoices = self._get_refundable_invoices()
        if not invoices:
            raise UserError(self.env._("The orders of this ticket have no posted invoice to credit."))
        return {
            "name": self.env._("Credit Note"),
            "type": "ir.actions.act_window",
            "res_model": "account.move.reversal",
            "view_mode": "form",
            "target": "new",
            "context": {
                "active_model": "account.move",
                "active_ids": invoices.ids,
                "default_reason": self.display_name,
                "ecrm_helpdesk_ticket_id": self.id,
            },
        }

    def create_credit_note(self, reason=None):
        """Credit the posted invoices of the linked orders in full (RPC counterpart of the wizard).

        :param str reason: shown on the credit note; defaults to the ticket reference
        :raise UserError: when no linked order has a posted customer invoice
        :return: the draft credit notes (account.move)
        """
        self.ensure_one()
        invoices = self._get_refundable_invoices()
        if not invoices:
            raise UserError(self.env._("The orders of this ticket have no posted invoice to credit."))
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoices.ids)
            .create(
                {
                    "reason": reason or self.display_name,
                    "journal_id": invoices[0].journal_id.id,
                }
            )
        )
        wizard.refund_moves()
        credit_notes = wizard.new_move_ids
        self.message_post(
            body=self.env._(
                "Credit notes created: %(names)s",
                names=", ".join(credit_notes.mapped("display_name")),
            ),
            subtype_xmlid="mail.mt_note",
        )
        return credit_notes

    def _ecrm_grant_goodwill(self, points=0, reason=None):
        """Hook: grant the ticket's customer a goodwill gesture (loyalty points or a coupon).

        This addon does nothing and returns False; a loyalty addon (ecrm_loyalty) overrides it,
        credits ``points`` to ``self.partner_id`` with ``reason`` and returns a truthy value
        (the ledger line or coupon it created), calling ``super()`` only when it cannot help.

        :param float points: points to grant
        :param str reason: why (defaults to the ticket reference)
        :return: False, or what the overriding addon created
        """
        return False

    def action_grant_goodwill(self, points=0, reason=None):
        """Grant a goodwill gesture through ``_ecrm_grant_goodwill``.

        :raise UserError: when no customer is set, points are negative or no addon grants them
        :return: what the hook returned
        """
        self.ensure_one()
        if not self.partner_id:
            raise UserError(self.env._("Set the customer of the ticket first."))
        if points < 0:
            raise UserError(self.env._("Goodwill points cannot be negative."))
        result = self._ecrm_grant_goodwill(points=points, reason=reason or self.display_name)
        if not result:
            raise UserError(
                self.env._("No loyalty programme is installed to grant points or coupons (install eCRM Loyalty).")
            )
        return result

    def message_post_canned_answer(self, template_id):
        """Answer the customer with a canned answer (a mail template of this model).

        :param int template_id: id of a mail.template whose model is ecrm.helpdesk.ticket
        :return: the posted mail.message records
        """
        template = self.env["mail.template"].browse(template_id).exists()
        if not template or template.model != self._name:
            raise UserError(self.env._("This canned answer does not apply to tickets."))
        messages = self.env["mail.message"]
        for ticket in self:
            messages |= ticket.message_post_with_source(
                template, message_type="comment", subtype_xmlid="mail.mt_comment"
            )
        return messages

    def action_reply_canned_answer(self):
        """Open the full composer with the canned answers (ticket mail templates) to choose from."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "mail.compose.message",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_composition_mode": "comment",
                "default_subtype_xmlid": "mail.mt_comment",
            },
        }
