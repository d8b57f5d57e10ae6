from odoo import fields, models, tools
from odoo.tools import SQL


class EcrmSegmentMovement(models.Model):
    """Segment history as +1 (entry) / -1 (exit) rows: summed cumulatively over time per
    segment it gives the size of each segment at every date (the "segment sizes" graph)."""

    _name = "ecrm.segment.movement"
    _description = "Segment Entries and Exits"
    _auto = False
    _order = "date desc"

    date = fields.Datetime(readonly=True)
    segment_id = fields.Many2one("ecrm.segment", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    delta = fields.Integer(string="Customers", readonly=True, help="+1 for an entry, -1 for an exit.")
    movement = fields.Selection([("entry", "Entry"), ("exit", "Exit")], readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE VIEW %(view)s AS (
                    SELECT h.id * 2 AS id, h.date, h.segment_to_id AS segment_id, h.partner_id, h.company_id,
                           1 AS delta, 'entry' AS movement
                      FROM ecrm_segment_history h WHERE h.segment_to_id IS NOT NULL
                     UNION ALL
                    SELECT h.id * 2 + 1 AS id, h.date, h.segment_from_id, h.partner_id, h.company_id,
                           -1 AS delta, 'exit' AS movement
                      FROM ecrm_segment_history h WHERE h.segment_from_id IS NOT NULL
                )
                """,
                view=SQL.identifier(self._table),
            )
        )
