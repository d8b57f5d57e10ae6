from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

PRIORITIES = [("0", "Low"), ("1", "Medium"), ("2", "High"), ("3", "Urgent")]


class EcrmHelpdeskSla(models.Model):
    """A service level target: how soon a matching ticket must get a first answer and be solved.

    A ticket gets the first policy (by sequence) whose criteria all match; an empty criterion
    matches everything. Targets are working hours of the ticket's team calendar, so nights,
    weekends and public holidays do not count. Put the tighter policies (a VIP tag or
    segment) before the general ones.
    """

    _name = "ecrm.helpdesk.sla"
    _description = "Helpdesk SLA Policy"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10, help="The first matching policy applies.")
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)
    team_ids = fields.Many2many("ecrm.helpdesk.team", string="Teams", help="Empty: every team.")
    priority = fields.Selection(
        PRIORITIES,
        string="Minimum Priority",
        help="Tickets of this priority or higher. Empty: every priority.",
    )
    type_ids = fields.Many2many("ecrm.helpdesk.type", string="Ticket Types", help="Empty: every type.")
    partner_tag_ids = fields.Many2many(
        "res.partner.category",
        string="Customer Tags",
        help="Customers with one of these contact tags (e.g. a VIP tier tag). Empty: every customer.",
    )
    segment_ids = fields.Many2many(
        "ecrm.segment",
        string="Customer Segments",
        help="Customers currently in one of these segments. Empty: every customer.",
    )
    response_hours = fields.Float(
        "First Response (working hours)",
        help="Working hours to the first public answer of an agent. 0: no target.",
    )
    resolution_hours = fields.Float(
        "Resolution (working hours)",
        help="Working hours until the ticket reaches a closed stage. 0: no target.",
    )
    warning_hours = fields.Float(
        "Warn Before (hours)",
        default=1.0,
        help="Warn the agent this many hours before a deadline. 0: no warning.",
    )
    breach_notify = fields.Boolean(
        "Notify on Breach",
        default=True,
        help="Log the breach and give the team lead a to-do activity.",
    )
    breach_raise_priority = fields.Boolean("Raise Priority on Breach")
    breach_user_id = fields.Many2one(
        "res.users",
        string="Reassign on Breach to",
        domain=[("share", "=", False)],
        help="Give breached tickets to this agent.",
    )

    @api.constrains("response_hours", "resolution_hours", "warning_hours")
    def _check_targets(self):
        for sla in self:
            if sla.response_hours < 0 or sla.resolution_hours < 0 or sla.warning_hours < 0:
                raise ValidationError(
                    self.env._(
                        "The targets of SLA policy %(name)s cannot be negative.",
                        name=sla.name,
                    )
                )
            if not sla.response_hours and not sla.resolution_hours:
                raise ValidationError(
                    self.env._(
                        "SLA policy %(name)s needs a first-response or a resolution target (in working hours).",
                        name=sla.name,
                    )
                )

    @api.model
    def _get_partner_segments(self, partners):
        """Current segment id of each partner: the target of its latest segment history row.

        :return: dict partner id -> ecrm.segment id
        """
        partners = partners.commercial_partner_id | partners
        if not partners:
            return {}
        self.env["ecrm.segment.history"].flush_model(["partner_id", "segment_to_id", "date"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (partner_id) partner_id, segment_to_id
                     FROM ecrm_segment_history
                    WHERE partner_id = ANY(%(partner_ids)s)
                 ORDER BY partner_id, date DESC, id DESC""",
                partner_ids=partners.ids,
            )
        )
        return {partner_id: segment_id for partner_id, segment_id in self.env.cr.fetchall() if segment_id}

    def _match_tickets(self, tickets):
        """The policy of each ticket: the first of ``self`` (in order) whose criteria all match.

        :return: dict ticket id -> ecrm.helpdesk.sla record (empty when none matches)
        """
        segments = self._get_partner_segments(tickets.partner_id) if self.segment_ids else {}
        result = {}
        for ticket in tickets:
            partner = ticket.partner_id
            partner_tags = partner.category_id | partner.commercial_partner_id.category_id
            partner_segments = {
                segments.get(partner.id),
                segments.get(partner.commercial_partner_id.id),
            } - {None}
            result[ticket.id] = self.browse()
            for sla in self:
                if sla.company_id and sla.company_id != ticket.company_id:
                    continue
                if sla.team_ids and ticket.team_id not in sla.team_ids:
                    continue
                if sla.priority and (ticket.priority or "0") < sla.priority:
                    continue
                if sla.type_ids and ticket.type_id not in sla.type_ids:
                    continue
                if sla.partner_tag_ids and not (sla.partner_tag_ids & partner_tags):
                    continue
                if sla.segment_ids and not (set(sla.segment_ids.ids) & partner_segments):
                    continue
                result[ticket.id] = sla
                break
        return result
