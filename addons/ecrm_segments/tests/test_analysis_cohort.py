from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import EcrmCase
from .test_analysis_kpi import AnalysisDataMixin


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisCohort(EcrmCase, AnalysisDataMixin):
    """Cohorts January to April 2026 on planted orders, computed by hand:

    ====  =========================================  ========
    who   counted orders                             cohort
    ====  =========================================  ========
    Ana   5 Jan 100, 10 Feb 50, 2 Apr 70             Jan
    Bo    20 Jan 200, 3 Mar 40                       Jan
    Chen  25 Jan 60                                  Jan
    Dee   1 Feb 80, 20 Feb 20, 15 Mar 100 (Web team) Feb
    Eve   1 Mar 300 (tag VIP)                        Mar
    Fu    15 Dec 2025 10, 10 Feb 10                  Dec 2025: not shown
    Gil   15 Jan 90, cancelled                       none
    ====  =========================================  ========
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "in", ("sale", "draft", "sent"))]).write({"state": "cancel"})
        cls.vip = cls.env["res.partner.category"].create({"name": "Cohort VIP"})
        cls.web = cls.env["crm.team"].create({"name": "Cohort Web"})
        cls.ana, cls.bo, cls.chen, cls.dee, cls.eve, cls.fu, cls.gil = cls.env["res.partner"].create(
            [{"name": f"Cohort {n}"} for n in ("Ana", "Bo", "Chen", "Dee", "Eve", "Fu", "Gil")]
        )
        cls.eve.category_id = cls.vip
        for partner, amount, day in [
            (cls.ana, 100, "2026-01-05"),
            (cls.ana, 50, "2026-02-10"),
            (cls.ana, 70, "2026-04-02"),
            (cls.bo, 200, "2026-01-20"),
            (cls.bo, 40, "2026-03-03"),
            (cls.chen, 60, "2026-01-25"),
            (cls.eve, 300, "2026-03-01"),
            (cls.fu, 10, "2025-12-15"),
            (cls.fu, 10, "2026-02-10"),
        ]:
            cls.order_on(partner, amount, day)
        for amount, day in [(80, "2026-02-01"), (20, "2026-02-20"), (100, "2026-03-15")]:
            cls.order_on(cls.dee, amount, day, team_id=cls.web.id)
        cls.order_on(cls.gil, 90, "2026-01-15").action_cancel()
        cls.Cohort = cls.env["ecrm.analysis.cohort"].with_user(cls.ecrm_user)

    def matrix(self, **filters):
        result = self.Cohort.get_cohorts("2026-01-01", "2026-04-30", **filters)
        return {
            c["cohort"]: (c["size"], [(x["customers"], x["retention"], x["revenue_per_customer"]) for x in c["cells"]])
            for c in result["cohorts"]
        }

    def test_matrix_hand_computed(self):
        self.assertEqual(
            self.matrix(),
            {
                "2026-01": (3, [(3, 1.0, 120.0), (1, 0.3333, 16.67), (1, 0.3333, 13.33), (1, 0.3333, 23.33)]),
                "2026-02": (1, [(1, 1.0, 100.0), (1, 1.0, 100.0), (0, 0.0, 0.0)]),
                "2026-03": (1, [(1, 1.0, 300.0), (0, 0.0, 0.0)]),
            },
        )
        result = self.Cohort.get_cohorts("2026-01-01", "2026-04-30")
        self.assertEqual(result["offsets"], 4)

    def test_filters(self):
        self.assertEqual(self.matrix(tag_ids=self.vip.ids), {"2026-03": (1, [(1, 1.0, 300.0), (0, 0.0, 0.0)])})
        self.assertEqual(
            self.matrix(team_ids=self.web.ids),
            {"2026-02": (1, [(1, 1.0, 100.0), (1, 1.0, 100.0), (0, 0.0, 0.0)])},
        )
        self.env["ecrm.partner.score"].recompute()
        segment = self.score_of(self.eve).segment_id
        same = self.env["ecrm.partner.score"].search([("segment_id", "=", segment.id)]).partner_id
        expected_size = len(same & (self.ana | self.bo | self.chen | self.dee | self.eve))
        sizes = sum(size for size, _cells in self.matrix(segment_ids=segment.ids).values())
        self.assertEqual(sizes, expected_size)
        self.assertIn("2026-03", self.matrix(segment_ids=segment.ids))

    def test_cell_opens_its_customers(self):
        Partner = self.env["res.partner"]
        for (cohort, offset), partners in {
            ("2026-01", 0): self.ana | self.bo | self.chen,
            ("2026-01", 1): self.ana,
            ("2026-01", 2): self.bo,
            ("2026-02", 2): Partner,
        }.items():
            action = self.Cohort.action_open_cohort_cell(cohort, offset)
            self.assertEqual(action["res_model"], "res.partner")
            self.assertEqual(Partner.search(action["domain"]), partners, (cohort, offset))
        action = self.Cohort.action_open_cohort_cell("2026-03", 0, tag_ids=self.vip.ids)
        self.assertEqual(Partner.search(action["domain"]), self.eve)

    def test_bad_input_refused(self):
        with self.assertRaisesRegex(UserError, "after the end date"):
            self.Cohort.get_cohorts("2026-05-01", "2026-01-01")
        with self.assertRaisesRegex(UserError, "not a month"):
            self.Cohort.action_open_cohort_cell("January", 0)
        with self.assertRaisesRegex(UserError, "negative"):
            self.Cohort.action_open_cohort_cell("2026-01", -1)
