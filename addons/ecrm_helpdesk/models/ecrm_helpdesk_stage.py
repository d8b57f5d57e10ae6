from odoo import api, fields, models
from odoo.exceptions import ValidationError


class EcrmHelpdeskStage(models.Model):
    """A step of a team's ticket pipeline.

    Stages belong to one team. A stage without a team is shared by every team, which is
    only allowed for open stages: closing a ticket sends a rating request and stops its
    SLA clock, and that must be decided per team.
    """

    _name = "ecrm.helpdesk.stage"
    _description = "Helpdesk Stage"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    team_id = fields.Many2one(
        "ecrm.helpdesk.team",
        index=True,
        ondelete="cascade",
        help="Team whose pipeline holds this stage. Leave empty to share an open stage with every team.",
    )
    company_id = fields.Many2one(related="team_id.company_id", store=True, index=True)
    is_closed = fields.Boolean(
        "Closed Stage",
        help="Tickets in this stage are solved or cancelled: the SLA clock stops and the customer is asked for a rating.",
    )
    fold = fields.Boolean("Folded in Kanban")
    description = fields.Text(translate=True)

    @api.constrains("is_closed", "team_id")
    def _check_closed_stage_team(self):
        for stage in self:
            if stage.is_closed and not stage.team_id:
                raise ValidationError(
                    self.env._(
                        "The closed stage %(stage)s must belong to a team: choose the team whose tickets it closes.",
                        stage=stage.name,
                    )
                )
