from datetime import datetime

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.sale.tests.common import TestSaleCommon

from .common import EcrmOrdersMixin


class AnalysisDataMixin(EcrmOrdersMixin):
    """Orders on fixed days, so periods, cohorts and KPIs can be computed by hand."""

    @classmethod
    def order_on(cls, partner, amount, day, **values):
        """A confirmed order of ``partner`` for ``amount`` (untaxed) on ``day`` (YYYY-MM-DD)."""
        order = cls.make_order(partner, amount, **values)
        order.date_order = datetime.fromisoformat(day).replace(hour=12)
        return order


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisKpi(TestSaleCommon, AnalysisDataMixin):
    """The KPI board on a planted data set, March 2026 against the 31 days before it.

    ==========  ================================  ======================  ============
    customer    orders (company currency)          March                   before
    ==========  ================================  ======================  ============
    Ana         10 Jan 100, 10 Feb 100, 5 Mar 200  returning, repeat       active
    Bo          15 Feb 50                          churned                 new
    Chen        10 Mar 300, 20 Mar 100             new, repeat             -
    Dee         15 Mar 400 EUR in the EUR shop     new (200 in USD)        -
    Fei         20 Feb 80, 25 Mar 120              returning, repeat       new
    Gus         8 Mar 500, cancelled               -                       -
    ==========  ================================  ======================  ============
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.group_ids |= cls.env.ref("ecrm_segments.ecrm_group_manager")
        cls.ecrm_product = cls.env["product.product"].create(
            {"name": "eCRM Widget", "list_price": 100.0, "taxes_id": False}
        )
        cls.env["sale.order"].search([("state", "in", ("sale", "draft", "sent"))]).write({"state": "cancel"})
        # 2 EUR for 1 unit of the main company's currency
        cls.eur = cls.setup_other_currency("EUR", rates=[("2000-01-01", 2.0)])
        cls.company_2 = cls.setup_other_company(name="eCRM EUR Shop", currency_id=cls.eur.id)["company"]
        cls.env.user.company_ids |= cls.company_2
        # the same rate seen from the EUR shop
        cls.env["res.currency.rate"].create(
            {"name": "2000-01-01", "rate": 2.0, "currency_id": cls.eur.id, "company_id": cls.company_2.id}
        )
        cls.usd = cls.env.company.currency_id
        names = ["Ana", "Bo", "Chen", "Dee", "Fei", "Gus"]
        cls.ana, cls.bo, cls.chen, cls.dee, cls.fei, cls.gus = cls.env["res.partner"].create(
            [{"name": f"KPI {name}"} for name in names]
        )
        cls.order_on(cls.ana, 100, "2026-01-10")
        cls.order_on(cls.ana, 100, "2026-02-10")
        cls.order_on(cls.ana, 200, "2026-03-05")
        cls.order_on(cls.bo, 50, "2026-02-15")
        cls.order_on(cls.chen, 300, "2026-03-10")
        cls.order_on(cls.chen, 100, "2026-03-20")
        cls.order_on(cls.dee, 400, "2026-03-15", company=cls.company_2)
        cls.order_on(cls.fei, 80, "2026-02-20")
        cls.order_on(cls.fei, 120, "2026-03-25")
        cls.order_on(cls.gus, 500, "2026-03-08").action_cancel()
        cls.env["ecrm.partner.score"].recompute(company_ids=(cls.env.company | cls.company_2).ids)
        cls.Kpi = cls.env["ecrm.analysis.kpi"].with_context(allowed_company_ids=(cls.env.company | cls.company_2).ids)

    def board(self, Kpi=None, **kwargs):
        result = (self.Kpi if Kpi is None else Kpi).get_kpis("2026-03-01", "2026-03-31", **kwargs)
        return result, {k["key"]: k for k in result["kpis"]}

    def test_figures_hand_computed(self):
        result, kpis = self.board()
        self.assertEqual(result["previous"], {"date_from": "2026-01-29", "date_to": "2026-02-28"})
        self.assertEqual(result["currency"]["id"], self.usd.id)
        current = {key: kpi["value"] for key, kpi in kpis.items()}
        self.assertEqual(
            current,
            {
                "active_customers": 4,  # Ana, Chen, Dee, Fei; Gus's order is cancelled
                "new_customers": 2,  # Chen, Dee
                "returning_customers": 2,  # Ana, Fei
                "repeat_rate": 0.75,  # Ana, Chen, Fei of 4 have two orders or more
                "retention_rate": 0.6667,  # Ana and Fei of Ana, Bo, Fei
                "churn_rate": 0.3333,  # Bo
                "orders": 5,
                "revenue": 920.0,  # 200 + 400 + 400 EUR / 2 + 120
                "aov": 184.0,
                "purchase_frequency": 1.25,
                # score rows over the whole history: Ana 400, Chen 400, Dee 400 EUR, Fei 200
                "clv_historic": 300.0,
                "clv_predicted": kpis["clv_predicted"]["value"],
            },
        )
        self.assertGreater(current["clv_predicted"], 0)
        previous = {key: kpi["previous"] for key, kpi in kpis.items()}
        self.assertEqual(
            (
                previous["active_customers"],
                previous["new_customers"],
                previous["returning_customers"],
                previous["repeat_rate"],
                previous["retention_rate"],
                previous["churn_rate"],
                previous["orders"],
                previous["revenue"],
            ),
            (3, 2, 1, 0.3333, 1.0, 0.0, 3, 230.0),
        )
        self.assertEqual(kpis["revenue"]["change"], round((920 - 230) / 230, 4))
        self.assertEqual(kpis["retention_rate"]["change"], round((0.6667 - 1.0) / 1.0, 4))

    def test_revenue_by_segment_adds_up(self):
        result, kpis = self.board()
        self.assertEqual(round(sum(s["revenue"] for s in result["segments"]), 2), 920.0)
        self.assertEqual(round(sum(s["previous"] for s in result["segments"]), 2), 230.0)
        self.assertEqual(sum(s["customers"] for s in result["segments"]), 4)
        score = self.score_of(self.chen)
        [chen_segment] = [s for s in result["segments"] if s["segment_id"] == score.segment_id.id]
        self.assertGreaterEqual(chen_segment["revenue"], 400.0)
        action = self.Kpi.action_open_kpi("segment", "2026-03-01", "2026-03-31", segment_id=score.segment_id.id)
        partners = self.env["res.partner"].search(action["domain"])
        self.assertIn(self.chen, partners)
        self.assertEqual(len(partners), chen_segment["customers"])

    def test_without_comparison(self):
        _result, kpis = self.board(compare=False)
        self.assertEqual(kpis["active_customers"]["value"], 4)
        self.assertIsNone(kpis["active_customers"]["previous"])
        self.assertIsNone(kpis["active_customers"]["change"])

    def test_current_companies_only(self):
        _result, kpis = self.board(
            Kpi=self.env["ecrm.analysis.kpi"].with_context(allowed_company_ids=self.env.company.ids)
        )
        self.assertEqual((kpis["active_customers"]["value"], kpis["revenue"]["value"]), (3, 720.0))
        # seen from the EUR shop first: amounts in EUR
        Kpi = self.env["ecrm.analysis.kpi"].with_context(allowed_company_ids=[self.company_2.id, self.env.company.id])
        result, kpis = self.board(Kpi=Kpi)
        self.assertEqual(result["currency"]["id"], self.eur.id)
        self.assertEqual(kpis["revenue"]["value"], 1840.0)

    def test_every_figure_opens_its_customers(self):
        expected = {
            "active_customers": self.ana | self.chen | self.dee | self.fei,
            "new_customers": self.chen | self.dee,
            "returning_customers": self.ana | self.fei,
            "repeat_rate": self.ana | self.chen | self.fei,
            "retention_rate": self.ana | self.fei,
            "churn_rate": self.bo,
            "revenue": self.ana | self.chen | self.dee | self.fei,
        }
        for key, partners in expected.items():
            action = self.Kpi.action_open_kpi(key, "2026-03-01", "2026-03-31")
            self.assertEqual(action["res_model"], "res.partner")
            self.assertEqual(self.env["res.partner"].search(action["domain"]), partners, key)
        action = self.Kpi.action_open_kpi("new_customers", "2026-03-01", "2026-03-31", previous=True)
        self.assertEqual(self.env["res.partner"].search(action["domain"]), self.bo | self.fei)

    def test_query_count_constant_in_customers(self):
        self.board()  # warm the caches of rules, currencies and settings
        self.env.invalidate_all()
        with self.assertQueryCount(13):
            self.board()
        more = self.env["res.partner"].create([{"name": f"KPI extra {i}"} for i in range(8)])
        for i, partner in enumerate(more):
            self.order_on(partner, 10 + i, "2026-03-0%s" % (i + 1))
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(13):
            _result, kpis = self.board()
        self.assertEqual(kpis["new_customers"]["value"], 10)

    def test_bad_input_refused(self):
        with self.assertRaisesRegex(UserError, "after the end date"):
            self.Kpi.get_kpis("2026-04-01", "2026-03-01")
        with self.assertRaisesRegex(UserError, "missing"):
            self.Kpi.get_kpis(False, "2026-03-01")
        with self.assertRaisesRegex(UserError, "not a date"):
            self.Kpi.get_kpis("March", "2026-03-01")
        with self.assertRaisesRegex(UserError, "Unknown figure"):
            self.Kpi.action_open_kpi("nope", "2026-03-01", "2026-03-31")

    def test_access(self):
        plain = self.env["res.users"].create(
            {"name": "Plain KPI", "login": "plain_kpi", "group_ids": [(6, 0, [self.env.ref("base.group_user").id])]}
        )
        with self.assertRaises(AccessError):
            self.env["ecrm.analysis.kpi"].with_user(plain).get_kpis("2026-03-01", "2026-03-31")
