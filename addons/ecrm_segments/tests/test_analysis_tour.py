from datetime import datetime, time

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisTour(HttpCase):
    def test_kpi_board_cohort_drill_and_export(self):
        """A manager opens the KPI board and the customers behind a figure, then drills into
        a cohort cell and exports the matrix."""
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        product = env["product.product"].create({"name": "Tour Tea", "list_price": 10, "taxes_id": False})
        ana = env["res.partner"].create({"name": "Tour Cohort Ana"})
        today = fields.Date.context_today(env["res.partner"])
        # first order in the middle of the month before last, then one in each month since
        days = [today.replace(day=15) - relativedelta(months=2), today.replace(day=15) - relativedelta(months=1), today]
        for day in days:
            order = env["sale.order"].create(
                {
                    "partner_id": ana.id,
                    "order_line": [(0, 0, {"product_id": product.id, "price_unit": 10, "tax_ids": False})],
                }
            )
            order.action_confirm()
            order.date_order = datetime.combine(day, time(12))
        self.start_tour("/odoo", "ecrm_segments_analysis_tour", login="admin")
