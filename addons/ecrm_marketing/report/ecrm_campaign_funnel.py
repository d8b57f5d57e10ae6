from odoo import fields, models
from odoo.tools import SQL


class EcrmCampaignFunnel(models.Model):
    """Campaign funnel: one row per message and stage reached (sent, delivered, opened, clicked, ordered).

    Counting rows grouped by stage draws the funnel; revenue is carried by the "ordered" rows
    (orders attributed to the message, last touch within the campaign window).
    """

    _name = "ecrm.campaign.funnel"
    _description = "Marketing Campaign Funnel"
    _auto = False
    _order = "stage"

    campaign_id = fields.Many2one("ecrm.campaign", readonly=True)
    step_id = fields.Many2one("ecrm.campaign.step", readonly=True)
    variant_id = fields.Many2one("ecrm.campaign.variant", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    channel = fields.Selection([("email", "Email"), ("sms", "SMS"), ("webhook", "Webhook")], readonly=True)
    date = fields.Datetime(readonly=True)
    stage = fields.Selection(
        [
            ("1_sent", "Sent"),
            ("2_delivered", "Delivered"),
            ("3_opened", "Opened"),
            ("4_clicked", "Clicked"),
            ("5_ordered", "Ordered"),
        ],
        readonly=True,
    )
    revenue = fields.Float(readonly=True)

    @property
    def _table_query(self):
        base = SQL(
            "s.id AS send_id, s.campaign_id, s.step_id, s.variant_id, s.partner_id, s.company_id, s.channel, s.date"
        )
        return SQL(
            """
            SELECT row_number() OVER (ORDER BY send_id, stage) AS id, f.*
              FROM (
                SELECT %(base)s, '1_sent' AS stage, 0.0 AS revenue
                  FROM ecrm_campaign_send s WHERE s.state = 'sent'
             UNION ALL
                SELECT %(base)s, '2_delivered', 0.0
                  FROM ecrm_campaign_send s JOIN mailing_trace t ON t.id = s.mailing_trace_id
                 WHERE t.trace_status IN ('sent', 'open', 'reply')
             UNION ALL
                SELECT %(base)s, '3_opened', 0.0
                  FROM ecrm_campaign_send s JOIN mailing_trace t ON t.id = s.mailing_trace_id
                 WHERE t.open_datetime IS NOT NULL OR t.trace_status IN ('open', 'reply')
             UNION ALL
                SELECT %(base)s, '4_clicked', 0.0
                  FROM ecrm_campaign_send s JOIN mailing_trace t ON t.id = s.mailing_trace_id
                 WHERE t.links_click_datetime IS NOT NULL
             UNION ALL
                SELECT %(base)s, '5_ordered', a.revenue
                  FROM ecrm_campaign_send s
                  JOIN (SELECT send_id AS attributed_send_id, SUM(amount) AS revenue
                          FROM (%(attribution)s) att GROUP BY send_id) a ON a.attributed_send_id = s.id
              ) f
            """,
            base=base,
            attribution=self.env["ecrm.campaign.send"]._attribution_sql(),
        )
