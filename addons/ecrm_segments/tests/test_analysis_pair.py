import base64
import io
import zipfile

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import EcrmCase


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisPair(EcrmCase):
    """Products bought together on ten planted orders whose figures are computed by hand.

    Orders (each product counted once per order): AB, AB, ABC, AD, B, CD, DE, DE, E, AA.
    N = 10; orders with A 5, B 4, C 2, D 4, E 3; together AB 3, AC 1, AD 1, BC 1, CD 1, DE 2.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the pairs must not depend on orders the database may already hold
        cls.env["sale.order"].search([("state", "=", "sale"), ("company_id", "=", cls.company.id)]).write(
            {"state": "cancel"}
        )
        Category = cls.env["product.category"]
        cls.cat_x = Category.create({"name": "Tea things"})
        cls.cat_x_sub = Category.create({"name": "Cups", "parent_id": cls.cat_x.id})
        cls.cat_y = Category.create({"name": "Garden"})
        Product = cls.env["product.product"]

        def product(name, categ):
            return Product.create({"name": name, "list_price": 10.0, "taxes_id": False, "categ_id": categ.id})

        cls.a, cls.b = product("Teapot", cls.cat_x), product("Tea", cls.cat_x)
        cls.c = product("Cup", cls.cat_x_sub)
        cls.d, cls.e = product("Spade", cls.cat_y), product("Seeds", cls.cat_y)
        cls.customer = cls.env["res.partner"].create({"name": "Pair buyer"})
        a, b, c, d, e = cls.a, cls.b, cls.c, cls.d, cls.e
        for products in ([a, b], [a, b], [a, b, c], [a, d], [b], [c, d], [d, e], [d, e], [e], [a, a]):
            cls.buy(products)
        # neither a cancelled order, a quotation nor another company's order counts
        cls.buy([a, e]).action_cancel()
        cls.buy([a, e], confirm=False)
        cls.other_company = cls.env["res.company"].create({"name": "Pairs Elsewhere"})
        cls.buy([a, e], company=cls.other_company)

    @classmethod
    def buy(cls, products, confirm=True, company=None):
        company = company or cls.company
        env = cls.env(context=dict(cls.env.context, allowed_company_ids=[company.id]))
        order = env["sale.order"].create(
            {
                "partner_id": cls.customer.id,
                "company_id": company.id,
                "order_line": [
                    (0, 0, {"product_id": p.id, "product_uom_qty": 1, "price_unit": 10.0, "tax_ids": False})
                    for p in products
                ]
                + [(0, 0, {"display_type": "line_note", "name": "Gift wrapped"})],
            }
        )
        if confirm:
            order.action_confirm()
        return order

    def pairs(self, **kwargs):
        Pair = self.env["ecrm.analysis.pair"]
        return {(p["product_a_id"], p["product_b_id"]): p for p in Pair.get_bought_together(**kwargs)}

    def test_support_confidence_lift(self):
        """Every pair once with the hand-computed support, both confidences and lift."""
        pairs = self.pairs()
        a, b, c, d, e = (p.id for p in (self.a, self.b, self.c, self.d, self.e))
        self.assertEqual(
            {key: row["orders"] for key, row in pairs.items()},
            {(a, b): 3, (a, c): 1, (a, d): 1, (b, c): 1, (c, d): 1, (d, e): 2},
        )
        ab = pairs[(a, b)]
        self.assertEqual((ab["orders_a"], ab["orders_b"], ab["total_orders"]), (5, 4, 10))
        self.assertAlmostEqual(ab["support"], 0.3)
        self.assertAlmostEqual(ab["confidence_ab"], 0.6)
        self.assertAlmostEqual(ab["confidence_ba"], 0.75)
        self.assertAlmostEqual(ab["lift"], 1.5)
        de = pairs[(d, e)]
        self.assertAlmostEqual(de["support"], 0.2)
        self.assertAlmostEqual(de["confidence_ab"], 0.5)
        self.assertAlmostEqual(de["confidence_ba"], 2 / 3)
        self.assertAlmostEqual(de["lift"], 20 / 12)
        self.assertAlmostEqual(pairs[(a, d)]["lift"], 0.5, msg="bought together less often than by chance")

    def test_order_limit_min_support(self):
        Pair = self.env["ecrm.analysis.pair"]
        a, b, c, d, e = (p.id for p in (self.a, self.b, self.c, self.d, self.e))
        by_support = Pair.get_bought_together()
        self.assertEqual([(p["product_a_id"], p["product_b_id"]) for p in by_support[:2]], [(a, b), (d, e)])
        by_lift = [(p["product_a_id"], p["product_b_id"]) for p in Pair.get_bought_together(order="lift")]
        # lifts: DE 1.667, AB 1.5, BC 1.25 and CD 1.25 (tie: most orders, then ids), AC 1, AD 0.5
        self.assertEqual(by_lift, [(d, e), (a, b), (b, c), (c, d), (a, c), (a, d)])
        self.assertEqual(set(self.pairs(min_support=0.2)), {(a, b), (d, e)})
        self.assertEqual(set(self.pairs(min_orders=2)), {(a, b), (d, e)})
        self.assertEqual(len(Pair.get_bought_together(limit=4)), 4)

    def test_products_of_interest(self):
        """With products given, each one's partners, both ways; the limit is per product."""
        a, b, c, d = (p.id for p in (self.a, self.b, self.c, self.d))
        rows = self.env["ecrm.analysis.pair"].get_bought_together(product_ids=[a, b], limit=2)
        self.assertEqual(
            [(p["product_a_id"], p["product_b_id"], p["orders"]) for p in rows],
            [(a, b, 3), (b, a, 3), (b, c, 1), (a, c, 1)],
        )
        ac = next(p for p in rows if (p["product_a_id"], p["product_b_id"]) == (a, c))
        self.assertAlmostEqual(ac["confidence_ab"], 0.2)
        self.assertAlmostEqual(ac["confidence_ba"], 0.5)
        rows = self.env["ecrm.analysis.pair"].get_bought_together(product_ids=[d])
        self.assertEqual({p["product_b_id"]: p["orders"] for p in rows}, {self.e.id: 2, a: 1, c: 1})

    def test_category_filter(self):
        """Both products in the categories or their subcategories; supports stay over all orders."""
        a, b, c = (p.id for p in (self.a, self.b, self.c))
        pairs = self.pairs(categ_ids=[self.cat_x.id])
        self.assertEqual(set(pairs), {(a, b), (a, c), (b, c)})
        self.assertAlmostEqual(pairs[(a, b)]["support"], 0.3)
        self.assertEqual(set(self.pairs(categ_ids=[self.cat_y.id])), {(self.d.id, self.e.id)})
        self.assertEqual(set(self.pairs(categ_ids=[self.cat_x.id], product_ids=[self.d.id])), set())

    def test_bad_input_refused(self):
        Pair = self.env["ecrm.analysis.pair"]
        for value in (0, -0.1, 1.5):
            with self.assertRaisesRegex(ValidationError, "minimum support"):
                Pair.get_bought_together(min_support=value)
        with self.assertRaisesRegex(ValidationError, "at least 1"):
            Pair.get_bought_together(min_orders=0)
        with self.assertRaisesRegex(ValidationError, "support, lift or confidence"):
            Pair.get_bought_together(order="price")
        with self.assertRaises(ValidationError):
            Pair.with_user(self.ecrm_user).get_bought_together(company_id=self.other_company.id)
        with self.assertRaises(AccessError):
            Pair.with_user(self.plain_user).get_bought_together()
        with self.assertRaisesRegex(ValidationError, "minimum support"):
            self.env["ecrm.analysis.pair.run"].create({"min_support": 2})

    def test_query_count(self):
        """The pairs of any number of products cost the same few statements."""
        Pair = self.env["ecrm.analysis.pair"].with_user(self.ecrm_user)
        Pair.get_bought_together(product_ids=[self.a.id])
        with self.assertQueryCount(3):
            Pair.get_bought_together(product_ids=[self.a.id])
        with self.assertQueryCount(3):
            Pair.get_bought_together(product_ids=[self.a.id, self.b.id, self.c.id, self.d.id, self.e.id])

    def test_stored_run(self):
        """A user computes an analysis; its pairs are stored with their categories."""
        run = (
            self.env["ecrm.analysis.pair.run"]
            .with_user(self.ecrm_user)
            .create({"name": "Tea", "min_support": 0.15, "min_orders": 1})
        )
        run.action_compute()
        self.assertEqual((run.state, run.total_orders, run.pair_count), ("done", 10, 2))
        ab = run.pair_ids.filtered(lambda p: p.product_a_id == self.a)
        self.assertEqual(
            (ab.product_b_id, ab.orders, ab.categ_a_id, ab.categ_b_id), (self.b, 3, self.cat_x, self.cat_x)
        )
        self.assertAlmostEqual(ab.lift, 1.5)
        self.assertAlmostEqual(ab.confidence_ba, 0.75)
        run.write({"categ_ids": [(6, 0, self.cat_y.ids)]})
        run.action_compute()
        self.assertEqual(run.pair_ids.mapped("product_a_id"), self.d)
        self.assertEqual(run.pair_count, 1)

    def test_export_xlsx(self):
        """The workbook lists the pairs with their figures and charts the lift."""
        run = self.env["ecrm.analysis.pair.run"].create({"name": "Tea", "min_support": 0.15, "min_orders": 1})
        run.action_compute()
        book = zipfile.ZipFile(io.BytesIO(base64.b64decode(run.export_xlsx()["content"])))
        strings = book.read("xl/sharedStrings.xml").decode()
        for text in ("Teapot", "Tea", "Spade", "Seeds", "Tea things", "Teapot + Tea", "Spade + Seeds"):
            self.assertIn(f">{text}<", strings)
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        # first pair: Teapot + Tea, 3 orders, support 0.3, lift 1.5 (columns E, H, K)
        self.assertRegex(sheet, r'<c r="E2"[^>]*><v>3</v></c>')
        self.assertRegex(sheet, r'<c r="H2"[^>]*><v>0.3</v></c>')
        self.assertRegex(sheet, r'<c r="K2"[^>]*><v>1.5</v></c>')
        chart = book.read("xl/charts/chart1.xml").decode()
        self.assertIn("Pairs!$K$2:$K$3", chart)
        self.assertIn("Pairs!$L$2:$L$3", chart)

    def test_multi_company(self):
        """A user of another company neither sees this company's analyses nor computes its pairs."""
        run = self.env["ecrm.analysis.pair.run"].create({"name": "Main shop"})
        run.action_compute()
        outsider = new_test_user(
            self.env,
            login="pairs_outsider",
            groups="ecrm_segments.ecrm_group_manager",
            company_id=self.other_company.id,
            company_ids=[(6, 0, self.other_company.ids)],
        )
        self.assertFalse(self.env["ecrm.analysis.pair.run"].with_user(outsider).search([("id", "=", run.id)]))
        self.assertFalse(self.env["ecrm.analysis.pair"].with_user(outsider).search([("run_id", "=", run.id)]))
        with self.assertRaises(ValidationError):
            self.env["ecrm.analysis.pair"].with_user(outsider).get_bought_together(company_id=self.company.id)
        # in its own company it sees the one order there: A and E together
        rows = self.env["ecrm.analysis.pair"].with_user(outsider).get_bought_together()
        self.assertEqual([(p["product_a_id"], p["product_b_id"], p["total_orders"]) for p in rows],
                         [(self.a.id, self.e.id, 1)])  # fmt: skip
