from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import EcrmCase, EcrmOrdersMixin

DEFAULT_CODES = {
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
}


@tagged("post_install", "-at_install", "ecrm")
class TestSegmentRules(EcrmCase, EcrmOrdersMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        cls.Segment = cls.env["ecrm.segment"]

    def test_default_segments_partition_the_cube(self):
        rfm = self.Segment.search([("rule_type", "=", "rfm")])
        self.assertEqual(set(rfm.mapped("code")), DEFAULT_CODES)
        cells = self.Segment._get_rfm_cell_map(self.company)
        self.assertEqual(len(cells), 125)
        self.assertNotIn(None, cells)
        champions = self.env.ref("ecrm_segments.segment_champions")
        self.assertEqual(cells[(5 - 1) * 25 + (5 - 1) * 5 + 0], champions.id)
        self.assertEqual(cells[0], self.env.ref("ecrm_segments.segment_lost").id)

    def test_segment_names_are_translatable(self):
        self.assertTrue(self.Segment._fields["name"].translate)

    def test_overlap_refused(self):
        with (
            self.assertRaisesRegex(ValidationError, "overlap"),
            self.env.cr.savepoint(),
        ):
            self.Segment.create({"name": "Big Spenders", "code": "big", "rule_type": "rfm", "m_min": 5})
        with (
            self.assertRaisesRegex(ValidationError, "overlap"),
            self.env.cr.savepoint(),
        ):
            self.env.ref("ecrm_segments.segment_new").write({"r_min": 4})
        self.assertEqual(self.env.ref("ecrm_segments.segment_new").r_min, 5)

    def test_empty_rule_refused(self):
        with (
            self.assertRaisesRegex(ValidationError, "rule is empty"),
            self.env.cr.savepoint(),
        ):
            self.env.ref("ecrm_segments.segment_lost").write({"f_min": 3, "f_max": 2})
        with (
            self.assertRaisesRegex(ValidationError, "rule is empty"),
            self.env.cr.savepoint(),
        ):
            self.env.ref("ecrm_segments.segment_lost").write({"r_max": 6})

    def test_gap_refused_at_recompute_and_nothing_changes(self):
        ben = self.env["res.partner"].create({"name": "Ben"})
        self.make_order(ben, 10, days_ago=3)
        self.env.ref("ecrm_segments.segment_lost").active = False
        with (
            self.assertRaisesRegex(ValidationError, "No RFM segment covers R=1 F=1 M=1"),
            self.env.cr.savepoint(),
        ):
            self.recompute()
        self.assertFalse(self.score_of(ben))
        with self.assertRaisesRegex(ValidationError, "No RFM segment covers"):
            self.env["ecrm.config"]._get_for_company().action_check_segments()

    def test_shrink_then_grow_reassigns(self):
        """Editing the rules in a valid order works, and customers follow the new rules."""
        loyal = self.env.ref("ecrm_segments.segment_loyal")
        attention = self.env.ref("ecrm_segments.segment_need_attention")
        loyal.write({"r_min": 4})
        with self.assertRaisesRegex(ValidationError, "No RFM segment covers R=3 F=4"):
            self.Segment._get_rfm_cell_map(self.company)
        attention.write({"f_max": 5})
        cells = self.Segment._get_rfm_cell_map(self.company)
        self.assertEqual(cells[(3 - 1) * 25 + (4 - 1) * 5 + 2], attention.id)

    def test_invalid_domain_refused(self):
        for domain in ("[('no_such_field', '=', 1)]", "not a domain", "{'a': 1}"):
            with (
                self.assertRaisesRegex(ValidationError, "is not valid"),
                self.env.cr.savepoint(),
            ):
                self.Segment.create(
                    {
                        "name": "Broken",
                        "code": "broken",
                        "rule_type": "domain",
                        "domain": domain,
                    }
                )

    def test_filter_segment_first_then_rfm(self):
        country = self.env.ref("base.cn")
        li, wang, zhou = self.env["res.partner"].create(
            [
                {"name": "Li", "country_id": country.id},
                {"name": "Wang"},
                {"name": "Zhou", "country_id": country.id, "customer_rank": 1},
            ]
        )
        self.make_order(li, 10, days_ago=3)
        self.make_order(wang, 10, days_ago=3)
        china = self.Segment.create(
            {
                "name": "China",
                "code": "china",
                "rule_type": "domain",
                "domain": f"[('country_id', '=', {country.id})]",
            }
        )
        self.recompute()
        self.assertEqual(li.ecrm_segment_id, china)
        self.assertEqual(zhou.ecrm_segment_id, china, "a prospect can be in a filter segment")
        self.assertEqual(wang.ecrm_segment_id.rule_type, "rfm")
        self.assertEqual(china.customer_count, 2)
        action = china.action_open_customers()
        self.assertEqual(self.env["res.partner"].search(action["domain"]), li | zhou)
