from odoo.tests import tagged

from .common import EcrmMarketingCase


@tagged("post_install", "-at_install", "ecrm")
class TestCampaignMeasurement(EcrmMarketingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create({"name": "Tea", "list_price": 100.0, "taxes_id": False})

    def order(self, partner, qty=1):
        order = self.env["sale.order"].create(
            {"partner_id": partner.id, "order_line": [(0, 0, {"product_id": self.product.id, "product_uom_qty": qty})]}
        )
        order.action_confirm()
        return order

    def test_attribution_last_touch_within_window(self):
        first = self.create_campaign(name="First", attribution_days=5)
        second = self.create_campaign(name="Second", attribution_days=5)
        buyer, late_buyer, touched_twice = self.customers[:3]
        with self.at("2026-03-01 10:00:00"):
            (first | second).action_activate()
            first.action_enrol((buyer | late_buyer | touched_twice).ids)
            self.run_engine(first)
        with self.at("2026-03-02 10:00:00"):
            second.action_enrol(touched_twice.ids)
            self.run_engine(second)
        with self.at("2026-03-03 10:00:00"):
            self.order(buyer, qty=2)
            self.order(touched_twice)
        with self.at("2026-03-07 10:00:00"):
            self.order(late_buyer)  # 6 days after the email: outside the window
        stats = (first | second).get_stats()
        self.assertEqual(stats[str(first.id)]["campaign"]["orders"], 1)
        self.assertAlmostEqual(stats[str(first.id)]["campaign"]["revenue"], 200.0)
        self.assertEqual(stats[str(first.id)]["campaign"]["sent"], 3)
        self.assertAlmostEqual(stats[str(first.id)]["campaign"]["conversion_rate"], 100.0 / 3)
        # the last touch wins: the customer emailed by both campaigns counts for the second one only
        self.assertEqual(stats[str(second.id)]["campaign"]["orders"], 1)
        self.assertAlmostEqual(stats[str(second.id)]["campaign"]["revenue"], 100.0)
        step = first.step_ids
        self.assertEqual(stats[str(first.id)]["steps"][str(step.id)]["orders"], 1)
        self.assertEqual(first.order_count, 1)
        self.assertAlmostEqual(first.revenue, 200.0)

    def test_engagement_unsubscribe_and_funnel(self):
        campaign = self.create_campaign()
        campaign.action_activate()
        campaign.action_enrol(self.customers[:4].ids)
        self.run_engine(campaign)
        sends = self.sends(campaign).sorted("id")
        sends.mailing_trace_id.set_sent()
        sends[0].mailing_trace_id.set_opened()
        sends[0].mailing_trace_id.set_clicked()
        sends[1].mailing_trace_id.set_opened()
        sends[2].mailing_trace_id.set_bounced()
        self.env["mail.blacklist"]._add(sends[3].partner_id.email)
        self.order(sends[0].partner_id)
        kpis = campaign.get_stats()[str(campaign.id)]["campaign"]
        self.assertEqual(
            {k: kpis[k] for k in ("sent", "delivered", "opened", "clicked", "bounced", "unsubscribed", "orders")},
            {"sent": 4, "delivered": 3, "opened": 2, "clicked": 1, "bounced": 1, "unsubscribed": 1, "orders": 1},
        )
        self.assertEqual(kpis["unsubscribe_rate"], 25.0)
        funnel = self.env["ecrm.campaign.funnel"]._read_group(
            [("campaign_id", "=", campaign.id)], ["stage"], ["__count", "revenue:sum"]
        )
        self.assertEqual(
            [(stage, count) for stage, count, _rev in funnel],
            [("1_sent", 4), ("2_delivered", 3), ("3_opened", 2), ("4_clicked", 1), ("5_ordered", 1)],
        )
        self.assertAlmostEqual(funnel[-1][2], 100.0)

    def test_holdout_uplift(self):
        partners = self.env["res.partner"].create(
            [{"name": f"U {i}", "email": f"u{i}@example.com"} for i in range(100)]
        )
        campaign = self.create_campaign(holdout_percent=50, attribution_days=10)
        campaign.action_activate()
        campaign.action_enrol(partners.ids)
        self.run_engine(campaign)
        treated = campaign.participant_ids.filtered(lambda p: p.state != "holdout")
        self.assertEqual(len(treated), 50)
        for participant in treated[:2]:
            self.order(participant.partner_id)
        kpis = campaign.get_stats()[str(campaign.id)]["campaign"]
        self.assertEqual(kpis["holdout"], 50)
        self.assertAlmostEqual(kpis["treated_conversion_rate"], 4.0)
        self.assertAlmostEqual(kpis["holdout_conversion_rate"], 0.0)
        self.assertAlmostEqual(kpis["uplift"], 4.0)

    def test_recommendations_known_data_set(self):
        Product = self.env["product.product"]
        cat_x = self.env["product.category"].create({"name": "X"})
        cat_y = self.env["product.category"].create({"name": "Y"})
        a, b, c, g = (Product.create({"name": n, "categ_id": cat_x.id}) for n in "ABCG")
        d = Product.create({"name": "D", "categ_id": cat_y.id})
        Product.create({"name": "E", "categ_id": cat_y.id})
        f = Product.create({"name": "F", "categ_id": cat_x.id, "sale_ok": False})
        ours = a | b | c | g | d | f
        # products of the database's own orders must not blur the overall best sellers
        self.env["product.template"].search([("id", "not in", ours.product_tmpl_id.ids)]).sale_ok = False
        others = self.env["res.partner"].create([{"name": f"Other {i}"} for i in range(4)])

        def buy(partner, *lines):
            order = self.env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [(0, 0, {"product_id": p.id, "product_uom_qty": q}) for p, q in lines],
                }
            )
            order.action_confirm()

        buy(others[0], (a, 1), (b, 1))
        buy(others[1], (a, 1), (b, 1), (c, 1))
        buy(others[2], (a, 1), (f, 1))
        buy(others[3], (g, 10))
        customer, customer2 = self.customers[:2]
        buy(customer, (a, 1))
        buy(customer2, (d, 1))
        Campaign = self.env["ecrm.campaign"]
        # bought together with A: B (2 orders) then C (1); F is not sellable; then best seller of category X
        self.assertEqual(Campaign._get_recommendations(customer, 3), b | c | g)
        self.assertEqual(Campaign._get_recommendations(customer, 1), b)
        # nothing bought together with D, nothing else sold in Y: overall best sellers, D excluded
        self.assertEqual(Campaign._get_recommendations(customer2, 2).ids, [g.id, a.id])
        # and in a template
        template = self.template.copy(
            {"body_html": '<p><t t-foreach="ecrm.recommendations(object, 2)" t-as="p"><t t-out="p.name"/>;</t></p>'}
        )
        campaign = self.create_campaign(steps=[{"name": "Reco", "mail_template_id": template.id}])
        campaign.action_activate()
        campaign.action_enrol(customer.ids)
        self.run_engine(campaign)
        self.assertIn("B;C;", self.mails(campaign).body_html)
