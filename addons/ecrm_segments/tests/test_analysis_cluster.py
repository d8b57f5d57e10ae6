import base64
import io
import zipfile
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import EcrmCase

GROUP_SIZE = 10


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisCluster(EcrmCase):
    """Three planted groups of ten customers, far apart on every feature:

    - *tea*: 8 recent orders of about 20 each, all discounted, all tea;
    - *furniture*: one order of about 1,000 300 days ago, full price, all furniture;
    - *garden*: 3 orders of about 200, the last 60 days ago, full price, all garden.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the clusters must not depend on orders the database may already hold
        cls.env["sale.order"].search([("state", "=", "sale"), ("company_id", "=", cls.company.id)]).write(
            {"state": "cancel"}
        )
        Category = cls.env["product.category"]
        Product = cls.env["product.product"]
        cls.categories = {}
        products = {}
        for key, name in (("tea", "Tea"), ("furniture", "Furniture"), ("garden", "Garden")):
            cls.categories[key] = Category.create({"name": name})
            products[key] = Product.create(
                {"name": f"{name} item", "list_price": 1.0, "taxes_id": False, "categ_id": cls.categories[key].id}
            )
        Partner = cls.env["res.partner"]
        cls.groups = {}
        orders = []
        for key in ("tea", "furniture", "garden"):
            cls.groups[key] = Partner.create([{"name": f"{key} {i}", "customer_rank": 1} for i in range(GROUP_SIZE)])
            for i, partner in enumerate(cls.groups[key]):
                if key == "tea":
                    plan = [(20 + i, 1 + i % 5 + 7 * n, 10.0) for n in range(8)]
                elif key == "furniture":
                    plan = [(1000 + 10 * i, 300 + i, 0.0)]
                else:
                    plan = [(200 + 2 * i, 60 + i + 30 * n, 0.0) for n in range(3)]
                for price, days_ago, discount in plan:
                    orders.append((partner, products[key], price, days_ago, discount))
        SaleOrder = cls.env["sale.order"]
        created = SaleOrder.create(
            [
                {
                    "partner_id": partner.id,
                    "order_line": [
                        (0, 0, {"product_id": product.id, "price_unit": price, "discount": discount, "tax_ids": False})
                    ],
                }
                for partner, product, price, _days, discount in orders
            ]
        )
        created.action_confirm()
        now = fields.Datetime.now()
        for order, (_p, _pr, _price, days_ago, _d) in zip(created, orders, strict=True):
            order.date_order = now - timedelta(days=days_ago)
        # recency, frequency and spend are the customers' scores
        cls.env["ecrm.partner.score"].recompute()

    def run_clusters(self, user=None, **values):
        run = self.env["ecrm.analysis.cluster.run"].with_user(user or self.ecrm_user).create(values)
        run.action_compute()
        return run

    def members_by_cluster(self, run):
        members = self.env["ecrm.analysis.cluster.member"].search([("run_id", "=", run.id)])
        by_cluster = {}
        for member in members:
            by_cluster.setdefault(member.cluster_id.number, []).append(member.partner_id.id)
        return {number: self.env["res.partner"].browse(ids) for number, ids in by_cluster.items()}

    def cluster_of(self, run, partners):
        member = self.env["ecrm.analysis.cluster.member"].search(
            [("run_id", "=", run.id), ("partner_id", "=", partners[0].id)]
        )
        return member.cluster_id.with_env(run.env)

    def test_planted_clusters_recovered(self):
        """The silhouette picks k = 3 and each cluster is exactly one planted group."""
        run = self.run_clusters(name="Planted")
        self.assertEqual((run.state, run.cluster_count, run.customer_count), ("done", 3, 30))
        self.assertGreater(run.silhouette, 0.5)
        self.assertIn("k = 3", run.silhouette_note)
        found = {frozenset(partners.ids) for partners in self.members_by_cluster(run).values()}
        self.assertEqual(found, {frozenset(group.ids) for group in self.groups.values()})
        self.assertEqual(run.line_ids.mapped("size"), [10, 10, 10])
        # the top categories by spend: furniture (10 x ~1,000), garden (10 x ~600), tea (10 x ~180)
        self.assertEqual(
            (run.categ_1_id, run.categ_2_id, run.categ_3_id),
            (self.categories["furniture"], self.categories["garden"], self.categories["tea"]),
        )
        tea = self.cluster_of(run, self.groups["tea"])
        self.assertAlmostEqual(tea.frequency, 8.0)
        self.assertAlmostEqual(tea.discount_share, 1.0)
        self.assertAlmostEqual(tea.categ_share_3, 1.0)
        self.assertAlmostEqual(tea.monetary, sum(8 * (20 + i) * 0.9 for i in range(GROUP_SIZE)) / GROUP_SIZE)
        self.assertIn("promotion-driven", tea.description)
        furniture = self.cluster_of(run, self.groups["furniture"])
        self.assertAlmostEqual(furniture.recency, 304.5)
        self.assertIn("lapsed", furniture.description)
        self.assertLess(furniture.z_discount_share, 0)

    def test_same_result_on_rerun(self):
        first = self.run_clusters(name="First")
        second = self.run_clusters(name="Second")
        self.assertEqual(
            [(c.size, round(c.monetary, 6), c.description) for c in first.line_ids.sorted("number")],
            [(c.size, round(c.monetary, 6), c.description) for c in second.line_ids.sorted("number")],
        )
        self.assertEqual(
            {n: p.ids for n, p in self.members_by_cluster(first).items()},
            {n: p.ids for n, p in self.members_by_cluster(second).items()},
        )

    def test_k_set_by_hand(self):
        run = self.run_clusters(k_mode="manual", k_manual=2)
        self.assertEqual(run.cluster_count, 2)
        self.assertEqual(sum(run.line_ids.mapped("size")), 30)
        self.assertFalse(run.silhouette_note)
        sizes = run.line_ids.sorted("number").mapped("size")
        self.assertEqual(sizes, sorted(sizes, reverse=True), "clusters are numbered by size")

    def test_description_words(self):
        """The three features furthest from the average, strongest first, in words."""
        run = self.run_clusters(k_mode="manual", k_manual=2)
        cluster = run.line_ids[0]
        cluster.write(
            {
                "z_recency": 0.1,
                "z_frequency": 1.2,
                "z_monetary": -0.3,
                "z_basket": -0.9,
                "z_discount_share": 0.8,
                "z_categ_1": 0.2,
                "z_categ_2": 0.0,
                "z_categ_3": 0.4,
            }  # fmt: skip
        )
        self.assertEqual(cluster.description, "frequent, small baskets, promotion-driven")
        self.assertEqual(cluster.name, "Cluster 1: frequent, small baskets, promotion-driven")
        cluster.write({"z_frequency": 0.1, "z_basket": 0.2, "z_discount_share": -0.4, "z_categ_3": 2.0})
        self.assertEqual(cluster.description, "mostly Tea")
        cluster.write({"z_categ_3": -2.0})
        self.assertEqual(cluster.description, "close to the average customer")

    def test_save_as_segment(self):
        """The cluster becomes a filter segment: its customers enter it, their RFM segment stays."""
        run = self.run_clusters(user=self.ecrm_manager)
        tea = self.cluster_of(run, self.groups["tea"])
        action = tea.with_user(self.ecrm_manager).action_save_segment()
        segment = tea.segment_id
        self.assertEqual((action["res_model"], action["res_id"]), ("ecrm.segment", segment.id))
        self.assertEqual((segment.rule_type, segment.company_id), ("domain", self.company))
        self.assertEqual(tea.with_user(self.ecrm_manager).action_save_segment()["res_id"], segment.id)
        with self.assertRaises(AccessError):
            (run.line_ids - tea)[0].with_user(self.ecrm_user).action_save_segment()
        self.env["ecrm.partner.score"].recompute()
        scores = self.env["ecrm.partner.score"].search([("partner_id", "in", self.groups["tea"].ids)])
        self.assertEqual(scores.segment_id, segment)
        self.assertEqual(
            len(scores.rfm_segment_id.filtered(lambda s: s.rule_type == "rfm")), len(scores.rfm_segment_id)
        )
        self.assertTrue(all(scores.mapped("rfm_segment_id")), "every customer keeps its RFM segment")
        self.assertEqual(self.groups["tea"].ecrm_segment_id, segment)
        self.assertNotIn(segment, self.groups["garden"].ecrm_segment_id)
        self.assertEqual(segment.customer_count, GROUP_SIZE)

    def test_bad_input_refused(self):
        Run = self.env["ecrm.analysis.cluster.run"]
        for k in (1, 13):
            with self.assertRaisesRegex(ValidationError, "between 2 and 12"):
                Run.create({"k_mode": "manual", "k_manual": k})
        empty = self.env["res.company"].create({"name": "No orders yet"})
        run = Run.create({"company_id": empty.id})
        with self.assertRaisesRegex(UserError, "Too few different customers"):
            run.action_compute()
        self.assertEqual(run.state, "draft")

    def test_export_xlsx(self):
        """The workbook holds the clusters, their customers and a chart of the sizes."""
        run = self.run_clusters()
        export = run.export_xlsx()
        book = zipfile.ZipFile(io.BytesIO(base64.b64decode(export["content"])))
        names = book.namelist()
        self.assertIn("xl/charts/chart1.xml", names)
        strings = book.read("xl/sharedStrings.xml").decode()
        for cluster in run.line_ids:
            self.assertIn(cluster.description, strings)
        self.assertIn("tea 0", strings)
        chart = book.read("xl/charts/chart1.xml").decode()
        self.assertIn("Clusters!$C$2:$C$4", chart)
        members = book.read("xl/worksheets/sheet2.xml").decode()
        self.assertEqual(members.count("<row "), 31, "a header and one row per customer")
        action = run.action_export_xlsx()
        self.assertEqual(action["type"], "ir.actions.act_url")

    def test_screens(self):
        """eCRM users find both analyses under Analysis; the buttons open the customers and the chart."""
        menus = ["ecrm_segments.menu_ecrm_analysis_cluster", "ecrm_segments.menu_ecrm_analysis_pair"]
        self.assertEqual(self.visible_menu_xmlids(self.ecrm_user, menus), set(menus))
        self.assertEqual(self.visible_menu_xmlids(self.plain_user, menus), set())
        run = self.run_clusters()
        members = run.action_open_members()
        self.assertEqual(self.env["ecrm.analysis.cluster.member"].search_count(members["domain"]), 30)
        cluster = run.line_ids[0]
        cluster_members = cluster.action_open_members()
        self.assertEqual(self.env["ecrm.analysis.cluster.member"].search_count(cluster_members["domain"]), cluster.size)
        chart = run.action_open_chart()
        self.assertEqual(chart["res_model"], "ecrm.analysis.cluster")
        self.assertIn("graph", chart["view_mode"])
        self.assertEqual(self.env["ecrm.analysis.cluster"].search(chart["domain"]), run.line_ids.sudo())
