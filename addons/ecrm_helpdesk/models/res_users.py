from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    ecrm_helpdesk_team_ids = fields.Many2many(
        "ecrm.helpdesk.team",
        "ecrm_helpdesk_team_member_rel",
        "user_id",
        "team_id",
        string="Helpdesk Teams",
    )
    ecrm_helpdesk_rating_avg = fields.Float(
        "Helpdesk Average Rating",
        compute="_compute_ecrm_helpdesk_rating",
        digits=(3, 2),
    )
    ecrm_helpdesk_rating_count = fields.Integer("Helpdesk Ratings", compute="_compute_ecrm_helpdesk_rating")

    def _compute_ecrm_helpdesk_rating(self):
        # one grouped query for every user: the last rating of each rated ticket they handled
        groups = (
            self.env["ecrm.helpdesk.ticket"]
            .sudo()  # sudo: the roll-up covers every ticket of the agent, whatever the reader's teams
            ._read_group(
                [("user_id", "in", self.ids), ("rating_last_value", ">", 0)],
                ["user_id"],
                ["__count", "rating_last_value:avg"],
            )
        )
        stats = {user.id: (count, avg) for user, count, avg in groups}
        for user in self:
            count, avg = stats.get(user.id, (0, 0.0))
            user.ecrm_helpdesk_rating_count = count
            user.ecrm_helpdesk_rating_avg = avg or 0.0
