from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.ecrm_helpdesk_sla import PRIORITIES
from ..models.ecrm_helpdesk_ticket import CHANNELS, SLA_STATUSES

AGE_BUCKETS = [
    ("0_1", "Under 1 day"),
    ("1_3", "1-3 days"),
    ("3_7", "3-7 days"),
    ("7_30", "1-4 weeks"),
    ("30", "Over 4 weeks"),
]


class EcrmHelpdeskTicketReport(models.Model):
    """Ticket analysis: volumes, response and resolution times, SLA compliance, backlog age, CSAT.

    A database view read live, so the backlog age is always counted up to now.
    """

    _name = "ecrm.helpdesk.ticket.report"
    _description = "Helpdesk Ticket Analysis"
    _auto = False
    _order = "create_date desc"
    _rec_name = "ticket_id"

    ticket_id = fields.Many2one("ecrm.helpdesk.ticket", readonly=True)
    team_id = fields.Many2one("ecrm.helpdesk.team", readonly=True)
    user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    stage_id = fields.Many2one("ecrm.helpdesk.stage", readonly=True)
    type_id = fields.Many2one("ecrm.helpdesk.type", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    sla_id = fields.Many2one("ecrm.helpdesk.sla", string="SLA Policy", readonly=True)
    channel = fields.Selection(CHANNELS, readonly=True)
    priority = fields.Selection(PRIORITIES, readonly=True)
    is_closed = fields.Boolean("Closed", readonly=True)
    create_date = fields.Datetime("Created on", readonly=True)
    close_date = fields.Datetime("Closed on", readonly=True)
    rating_date = fields.Datetime("Rated on", readonly=True)
    sla_status = fields.Selection(SLA_STATUSES, readonly=True)
    age_bucket = fields.Selection(AGE_BUCKETS, string="Backlog Age", readonly=True)
    ticket_count = fields.Integer("Tickets", readonly=True, aggregator="sum")
    open_count = fields.Integer("Open Tickets", readonly=True, aggregator="sum")
    sla_met_count = fields.Integer("SLA Met", readonly=True, aggregator="sum")
    sla_failed_count = fields.Integer("SLA Failed", readonly=True, aggregator="sum")
    sla_compliance = fields.Float("SLA Compliance (%)", readonly=True, aggregator="avg")
    first_response_hours = fields.Float("Hours to First Response", readonly=True, aggregator="avg")
    resolution_hours = fields.Float("Hours to Resolution", readonly=True, aggregator="avg")
    age_days = fields.Float("Age (days)", readonly=True, aggregator="avg")
    rating = fields.Float("Rating (CSAT)", readonly=True, aggregator="avg")

    def _query(self):
        return SQL(
            """
            SELECT t.id AS id,
                   t.id AS ticket_id,
                   t.team_id, t.user_id, t.stage_id, t.type_id, t.partner_id, t.company_id, t.sla_id,
                   t.channel, t.priority, COALESCE(t.is_closed, FALSE) AS is_closed,
                   t.date_open AS create_date, t.close_date, t.sla_status,
                   1 AS ticket_count,
                   CASE WHEN COALESCE(t.is_closed, FALSE) THEN 0 ELSE 1 END AS open_count,
                   CASE WHEN t.sla_status = 'met' THEN 1 ELSE 0 END AS sla_met_count,
                   CASE WHEN t.sla_status = 'failed' THEN 1 ELSE 0 END AS sla_failed_count,
                   CASE WHEN t.sla_status = 'met' THEN 100.0
                        WHEN t.sla_status = 'failed' THEN 0.0 END AS sla_compliance,
                   NULLIF(t.first_response_hours, 0) AS first_response_hours,
                   NULLIF(t.resolution_hours, 0) AS resolution_hours,
                   EXTRACT(EPOCH FROM (COALESCE(t.close_date, NOW() AT TIME ZONE 'UTC') - t.date_open)) / 86400.0
                       AS age_days,
                   CASE WHEN COALESCE(t.is_closed, FALSE) THEN NULL
                        WHEN t.date_open > (NOW() AT TIME ZONE 'UTC') - INTERVAL '1 day' THEN '0_1'
                        WHEN t.date_open > (NOW() AT TIME ZONE 'UTC') - INTERVAL '3 days' THEN '1_3'
                        WHEN t.date_open > (NOW() AT TIME ZONE 'UTC') - INTERVAL '7 days' THEN '3_7'
                        WHEN t.date_open > (NOW() AT TIME ZONE 'UTC') - INTERVAL '30 days' THEN '7_30'
                        ELSE '30' END AS age_bucket,
                   NULLIF(t.rating_last_value, 0) AS rating,
                   r.write_date AS rating_date
              FROM ecrm_helpdesk_ticket t
         LEFT JOIN LATERAL (
                   SELECT rr.write_date FROM rating_rating rr
                    WHERE rr.res_model = 'ecrm.helpdesk.ticket' AND rr.res_id = t.id AND rr.consumed
                 ORDER BY rr.write_date DESC, rr.id DESC LIMIT 1
                   ) r ON TRUE
             WHERE t.active
            """
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._query(),
            )
        )
