from odoo import Command
from odoo.tests import tagged

from odoo.addons.sale.tests.common import TestSaleCommon

from .common import EcrmOrdersMixin


@tagged("post_install", "-at_install", "ecrm")
class TestRfmAccounting(TestSaleCommon, EcrmOrdersMixin):
    """Refunds, currencies and companies: what accounting does to the monetary score."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.group_ids |= cls.env.ref("ecrm_segments.ecrm_group_manager")
        cls.ecrm_product = cls.env["product.product"].create(
            {
                "name": "eCRM Widget",
                "list_price": 100.0,
                "taxes_id": False,
                "invoice_policy": "order",
            }
        )
        cls.env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        cls.company_2 = cls.setup_other_company(name="eCRM Second Shop")["company"]
        cls.env.user.company_ids |= cls.company_2
        cls.eur = cls.setup_other_currency("EUR", rates=[("2000-01-01", 2.0)])
        cls.eur_pricelist = cls.env["product.pricelist"].create({"name": "EUR prices", "currency_id": cls.eur.id})
        cls.customer = cls.env["res.partner"].create({"name": "Chen Jie"})

    def _invoice(self, order):
        invoice = order._create_invoices()
        invoice.action_post()
        return invoice

    def _refund(self, invoice, amount=None):
        refund = invoice._reverse_moves([{"invoice_date": invoice.invoice_date, "ref": "refund"}])
        if amount is not None:
            refund.invoice_line_ids.filtered(lambda line: line.display_type == "product").price_unit = amount
        refund.action_post()
        return refund

    def test_refunds_are_deducted(self):
        kept = self.make_order(self.customer, 300, days_ago=20)
        partly = self.make_order(self.customer, 200, days_ago=10)
        fully = self.make_order(self.customer, 100, days_ago=5)
        for order in kept | partly | fully:
            self._invoice(order)
        self.recompute()
        self.assertEqual(self.score_of(self.customer).monetary, 600.0)
        self._refund(partly.invoice_ids, amount=50.0)
        draft = partly.invoice_ids._reverse_moves([{"ref": "draft refund"}])
        self.assertEqual(draft.state, "draft")
        self.recompute()
        score = self.score_of(self.customer)
        self.assertEqual(
            (score.monetary, score.refunded, score.frequency),
            (550.0, 50.0, 3),
            "draft credit notes do not count",
        )
        self._refund(fully.invoice_ids.filtered(lambda m: m.move_type == "out_invoice"))
        self.recompute()
        score = self.score_of(self.customer)
        self.assertEqual(
            (score.monetary, score.frequency, score.recency_days),
            (450.0, 2, 10),
            "a fully refunded order no longer counts",
        )

    def test_amounts_in_company_currency(self):
        self.make_order(self.customer, 200, days_ago=3, pricelist=self.eur_pricelist)
        self.make_order(self.customer, 100, days_ago=2)
        self.recompute()
        score = self.score_of(self.customer)
        self.assertEqual(score.monetary, 200.0, "200 EUR at 2 EUR per company unit = 100, plus 100")

    def test_companies_are_scored_separately(self):
        self.make_order(self.customer, 100, days_ago=3)
        self.make_order(self.customer, 700, days_ago=30, company=self.company_2)
        self.make_order(self.customer, 300, days_ago=60, company=self.company_2)
        self.recompute()
        self.recompute(company=self.company_2)
        first, second = (
            self.score_of(self.customer),
            self.score_of(self.customer, company=self.company_2),
        )
        self.assertEqual((first.monetary, first.frequency), (100.0, 1))
        self.assertEqual((second.monetary, second.frequency, second.recency_days), (1000.0, 2, 30))
        self.assertEqual(self.customer.with_company(self.company_2).ecrm_order_total, 1000.0)
        self.assertEqual(self.customer.with_company(self.env.company).ecrm_order_total, 100.0)
        self.assertTrue(self.customer.with_company(self.company_2).ecrm_segment_id)
        # each company's segment: searched, grouped and read in that company
        for company in (self.env.company, self.company_2):
            score = self.score_of(self.customer, company=company)
            Partner = self.env["res.partner"].with_company(company)
            self.assertEqual(Partner.browse(self.customer.id).ecrm_segment_id, score.segment_id)
            self.assertIn(self.customer, Partner.search([("ecrm_segment_id", "=", score.segment_id.id)]))
            groups = dict(Partner._read_group([("id", "=", self.customer.id)], ["ecrm_segment_id"], ["__count"]))
            self.assertEqual(groups, {score.segment_id: 1})
        history = self.env["ecrm.segment.history"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(set(history.company_id.ids), {self.env.company.id, self.company_2.id})
        # an eCRM user of the first company only sees that company's scores
        user = self.env["res.users"].create(
            {
                "name": "Shop One Analyst",
                "login": "ecrm_shop_one",
                "company_id": self.env.company.id,
                "company_ids": [Command.set(self.env.company.ids)],
                "group_ids": [Command.set(self.env.ref("ecrm_segments.ecrm_group_user").ids)],
            }
        )
        seen = self.env["ecrm.partner.score"].with_user(user).search([("partner_id", "=", self.customer.id)])
        self.assertEqual(seen, first)
        seen_history = self.env["ecrm.segment.history"].with_user(user).search([("partner_id", "=", self.customer.id)])
        self.assertEqual(seen_history.company_id, self.env.company)
