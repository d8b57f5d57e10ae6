from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install", "ecrm")
class TestRfmGridTour(HttpCase):
    def test_rfm_grid_drill_and_export(self):
        """A manager opens the RFM grid, drills into a cell, opens a segment and exports it."""
        env = self.env(context=dict(self.env.context, tracking_disable=True))
        env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        product = env["product.product"].create({"name": "Tour Tea", "list_price": 10, "taxes_id": False})
        customers = env["res.partner"].create([{"name": f"Tour Customer {i}"} for i in range(1, 4)])
        orders = env["sale.order"].create(
            [
                {
                    "partner_id": c.id,
                    "order_line": [(0, 0, {"product_id": product.id, "price_unit": 10, "tax_ids": False})],
                }
                for c in customers
            ]
        )
        orders.action_confirm()
        env["ecrm.segment"].create(
            {
                "name": "Tour VIP",
                "code": "tour_vip",
                "rule_type": "domain",
                "domain": "[('name', 'ilike', 'Tour Customer')]",
            }
        )
        env["ecrm.partner.score"].recompute()
        self.start_tour("/odoo", "ecrm_segments_rfm_grid_tour", login="admin")
