import ast

from odoo import api, fields, models
from odoo.exceptions import ValidationError

ASSIGNMENT_METHODS = [
    ("manual", "Manual"),
    ("round_robin", "Round-robin"),
    ("balanced", "Balanced by open load"),
]


class EcrmHelpdeskTeam(models.Model):
    """A support team: its members, its pipeline of stages, its email alias and calendar.

    Mail sent to the team's alias creates a ticket of the team (``message_new`` on the
    ticket); new tickets are given to a member according to ``assignment_method``.
    SLA deadlines are counted in the team's working calendar (holidays included).
    """

    _name = "ecrm.helpdesk.team"
    _description = "Helpdesk Team"
    _inherit = ["mail.alias.mixin", "mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    leader_id = fields.Many2one(
        "res.users",
        string="Team Lead",
        domain=[("share", "=", False)],
        help="Receives SLA escalations and low-rating follow-ups when the ticket has no agent.",
    )
    member_ids = fields.Many2many(
        "res.users",
        "ecrm_helpdesk_team_member_rel",
        "team_id",
        "user_id",
        string="Agents",
        domain=[("share", "=", False)],
    )
    assignment_method = fields.Selection(
        ASSIGNMENT_METHODS,
        required=True,
        default="manual",
        help="Manual: tickets stay unassigned until someone takes them. Round-robin: members in turn. "
        "Balanced: the member with the fewest open tickets of the team.",
    )
    last_assigned_user_id = fields.Many2one("res.users", readonly=True, copy=False)
    resource_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Working Hours",
        default=lambda self: self.env.company.resource_calendar_id,
        help="SLA targets are counted in these working hours; its public holidays do not count.",
    )
    stage_ids = fields.One2many("ecrm.helpdesk.stage", "team_id", string="Stages")
    use_rating = fields.Boolean(
        "Ask for Ratings",
        default=True,
        help="Send a satisfaction survey when a ticket reaches a closed stage.",
    )
    low_rating_threshold = fields.Integer(
        default=2,
        help="Ratings at or below this value (1 to 5) create a follow-up activity and fire the helpdesk.low_rating event.",
    )
    ticket_ids = fields.One2many("ecrm.helpdesk.ticket", "team_id")
    open_ticket_count = fields.Integer(compute="_compute_ticket_stats")
    unassigned_ticket_count = fields.Integer(compute="_compute_ticket_stats")
    sla_failed_count = fields.Integer("Failed SLA", compute="_compute_ticket_stats")
    rating_avg_value = fields.Float("Average Rating", compute="_compute_rating_stats", digits=(3, 2))
    rating_count_value = fields.Integer("Rated Tickets", compute="_compute_rating_stats")

    @api.depends("ticket_ids.stage_id", "ticket_ids.user_id", "ticket_ids.sla_status")
    def _compute_ticket_stats(self):
        groups = self.env["ecrm.helpdesk.ticket"]._read_group(
            [("team_id", "in", self.ids), ("is_closed", "=", False)],
            ["team_id", "user_id", "sla_status"],
            ["__count"],
        )
        stats = {team.id: {"open": 0, "unassigned": 0, "failed": 0} for team in self}
        for team, user, sla_status, count in groups:
            team_stats = stats[team.id]
            team_stats["open"] += count
            if not user:
                team_stats["unassigned"] += count
            if sla_status == "failed":
                team_stats["failed"] += count
        for team in self:
            team.open_ticket_count = stats[team.id]["open"]
            team.unassigned_ticket_count = stats[team.id]["unassigned"]
            team.sla_failed_count = stats[team.id]["failed"]

    def _compute_rating_stats(self):
        groups = self.env["ecrm.helpdesk.ticket"]._read_group(
            [("team_id", "in", self.ids), ("rating_last_value", ">", 0)],
            ["team_id"],
            ["__count", "rating_last_value:avg"],
        )
        stats = {team.id: (count, avg) for team, count, avg in groups}
        for team in self:
            count, avg = stats.get(team.id, (0, 0.0))
            team.rating_count_value = count
            team.rating_avg_value = avg or 0.0

    @api.constrains("low_rating_threshold")
    def _check_low_rating_threshold(self):
        for team in self:
            if not 0 <= team.low_rating_threshold <= 5:
                raise ValidationError(self.env._("The low rating threshold must be between 0 and 5."))

    @api.constrains("leader_id", "member_ids", "company_id")
    def _check_members_company(self):
        for team in self:
            users = team.member_ids | team.leader_id
            if any(team.company_id not in user.company_ids for user in users):
                raise ValidationError(
                    self.env._(
                        "Every agent of team %(team)s must have access to its company.",
                        team=team.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        teams = super().create(vals_list)
        teams.filtered(lambda team: not team.stage_ids)._create_default_stages()
        return teams

    def _alias_get_creation_values(self):
        values = super()._alias_get_creation_values()
        values["alias_model_id"] = self.env["ir.model"]._get("ecrm.helpdesk.ticket").id
        if self.id:
            values["alias_defaults"] = defaults = ast.literal_eval(self.alias_defaults or "{}")
            defaults["team_id"] = self.id
            defaults.setdefault("channel", "email")
        return values

    def _get_default_stage_values(self):
        """Stages created for a new team (override to change the default pipeline)."""
        self.ensure_one()
        return [
            {"name": self.env._("New"), "sequence": 1},
            {"name": self.env._("In Progress"), "sequence": 10},
            {"name": self.env._("Waiting for Customer"), "sequence": 20},
            {"name": self.env._("Solved"), "sequence": 30, "is_closed": True, "fold": True},
            {"name": self.env._("Cancelled"), "sequence": 40, "is_closed": True, "fold": True},
        ]

    def _create_default_stages(self):
        self.env["ecrm.helpdesk.stage"].create(
            [dict(values, team_id=team.id) for team in self for values in team._get_default_stage_values()]
        )

    def _get_first_stage(self):
        """The first open stage of the team (its own or a shared one)."""
        self.ensure_one()
        return self.env["ecrm.helpdesk.stage"].search(
            [("team_id", "in", [self.id, False]), ("is_closed", "=", False)],
            order="sequence, id",
            limit=1,
        )

    def _get_closed_stage(self):
        """The first closed stage of the team: where ``action_close`` moves tickets."""
        self.ensure_one()
        return self.env["ecrm.helpdesk.stage"].search(
            [("team_id", "=", self.id), ("is_closed", "=", True)],
            order="sequence, id",
            limit=1,
        )

    def _get_assignees(self, count):
        """Pick agents for ``count`` new tickets of this team, following its assignment method.

        :return: list of ``count`` res.users records (empty records when the team assigns manually
            or has no agent); also remembers the last agent picked for round-robin.
        """
        self.ensure_one()
        members = self.member_ids.filtered("active").sorted("id")
        if self.assignment_method == "manual" or not members:
            return [self.env["res.users"]] * count
        picked = []
        if self.assignment_method == "round_robin":
            last = self.last_assigned_user_id
            start = 0
            if last in members:
                start = list(members).index(last) + 1
            picked = [members[(start + index) % len(members)] for index in range(count)]
        else:
            # one grouped query for the open load of every member
            loads = dict.fromkeys(members.ids, 0)
            for user, load in self.env["ecrm.helpdesk.ticket"]._read_group(
                [
                    ("team_id", "=", self.id),
                    ("user_id", "in", members.ids),
                    ("is_closed", "=", False),
                ],
                ["user_id"],
                ["__count"],
            ):
                loads[user.id] = load
            for _index in range(count):
                user_id = min(loads, key=lambda uid: (loads[uid], uid))
                loads[user_id] += 1
                picked.append(members.browse(user_id))
        if picked:
            self.sudo().last_assigned_user_id = picked[-1]  # sudo: agents creating tickets cannot edit teams
        return picked

    def action_open_tickets(self):
        """Open the tickets of this team (kanban by stage)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_helpdesk.ecrm_helpdesk_ticket_action")
        action["domain"] = [("team_id", "=", self.id)]
        action["context"] = {"default_team_id": self.id, "search_default_open": 1}
        return action
