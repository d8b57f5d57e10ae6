import base64
import importlib.util
import io
import zipfile

from odoo.tests import tagged
from odoo.tools.misc import file_path

from .common import EcrmCase, EcrmOrdersMixin


@tagged("post_install", "-at_install", "ecrm")
class TestCustomer360(EcrmCase, EcrmOrdersMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        cls.partners = cls.env["res.partner"].create(
            [{"name": f"Customer {i}", "email": f"c{i}@example.com"} for i in range(8)]
        )
        for i, partner in enumerate(cls.partners):
            for k in range(i % 3 + 1):
                cls.make_order(partner, 100 + 10 * i, days_ago=5 + 40 * k + 7 * i)
        cls.env["ecrm.partner.score"].recompute()

    def test_partner_fields(self):
        partner = self.partners[5]
        self.assertEqual(partner.ecrm_order_count, 3)
        self.assertEqual(partner.ecrm_order_total, 450.0)
        self.assertEqual(partner.ecrm_aov, 150.0)
        self.assertEqual(partner.ecrm_sale_order_count, 3)
        self.assertTrue(partner.ecrm_segment_id)
        self.assertIn(partner.ecrm_stage, ("active", "new"))
        self.assertEqual(
            partner.ecrm_rfm_code,
            f"{partner.ecrm_r_score}{partner.ecrm_f_score}{partner.ecrm_m_score}",
        )
        action = partner.action_ecrm_open_orders()
        self.assertEqual(self.env["sale.order"].search_count(action["domain"]), 3)

    def test_kpis_in_constant_queries(self):
        """The 360 fields of a whole list load in a constant number of queries."""
        fnames = [
            "ecrm_order_count",
            "ecrm_clv_predicted",
            "ecrm_sale_order_count",
            "ecrm_segment_id",
        ]
        self.partners[2:4].with_user(self.ecrm_user).read(fnames)  # warm the access-rule caches
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        self.partners[:2].with_user(self.ecrm_user).read(fnames)
        few = self.env.cr.sql_log_count - before
        self.assertLessEqual(few, 9)
        self.env.invalidate_all()
        with self.assertQueryCount(few):
            self.partners.with_user(self.ecrm_user).read(fnames)

    def test_customers_group_by_segment_and_stage(self):
        Partner = self.env["res.partner"].with_user(self.ecrm_user)
        groups = Partner.read_group([("id", "in", self.partners.ids)], ["ecrm_segment_id"], ["ecrm_segment_id"])
        self.assertEqual(sum(g["ecrm_segment_id_count"] for g in groups), 8)
        by_stage = dict(Partner._read_group([("id", "in", self.partners.ids)], ["ecrm_stage"], ["__count"]))
        self.assertEqual(sum(by_stage.values()), 8)
        self.assertNotIn(False, by_stage)

    def test_search_sort_group_on_current_segment(self):
        """Segment and stage are read from the company's membership rows: every kind of search
        the list and the campaigns use, sorting and grouping agree with the values read."""
        Partner = self.env["res.partner"].with_user(self.ecrm_user)
        outsider = self.env["res.partner"].create({"name": "Never scored"})  # no membership row
        everyone = self.partners | outsider
        scope = [("id", "in", everyone.ids)]
        segment = self.partners[0].ecrm_segment_id
        members = self.partners.filtered(lambda p: p.ecrm_segment_id == segment)
        self.assertTrue(segment and members)

        def found(domain):
            return Partner.search(scope + domain)

        self.assertEqual(found([("ecrm_segment_id", "=", segment.id)]), members)
        self.assertEqual(found([("ecrm_segment_id", "in", segment.ids)]), members)
        self.assertEqual(found([("ecrm_segment_id", "!=", segment.id)]), everyone - members)
        self.assertEqual(found([("ecrm_segment_id", "not in", segment.ids)]), everyone - members)
        self.assertEqual(found([("ecrm_segment_id", "=", False)]), outsider)
        self.assertEqual(found([("ecrm_segment_id", "!=", False)]), self.partners)
        self.assertEqual(found([("ecrm_segment_id", "ilike", segment.name)]), members)
        self.assertEqual(found([("ecrm_segment_id.code", "=", segment.code)]), members)
        self.assertEqual(found([("ecrm_stage", "=", "prospect")]), Partner.browse())
        self.assertEqual(found([("ecrm_stage", "=", False)]), outsider)
        stage = self.partners[0].ecrm_stage
        self.assertEqual(
            found([("ecrm_stage", "in", [stage])]), self.partners.filtered(lambda p: p.ecrm_stage == stage)
        )
        # sorted by the segment's order, customers without one last
        ordered = Partner.search(scope, order="ecrm_segment_id, id")
        self.assertEqual(ordered[-1], outsider)
        keys = [(p.ecrm_segment_id.sequence, p.ecrm_segment_id.id) for p in ordered[:-1]]
        self.assertEqual(keys, sorted(keys))
        groups = dict(Partner._read_group(scope, ["ecrm_segment_id"], ["__count"]))
        self.assertEqual(groups.pop(Partner.env["ecrm.segment"]), 1)
        self.assertEqual(
            groups, {s: len(self.partners.filtered(lambda p, s=s: p.ecrm_segment_id == s)) for s in groups}
        )
        self.assertEqual(segment.customer_count, len(members))

    def test_membership_migration(self):
        """A database from before the membership table keeps its customers' segments and stages
        (19.0.1.3.0: two company-dependent columns of res_partner become ecrm_segment_member)."""
        path = file_path("ecrm_segments/migrations/19.0.1.3.0/post-migrate.py")
        spec = importlib.util.spec_from_file_location("ecrm_segments_migrate_19_0_1_3_0", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        cr, company = self.env.cr, str(self.env.company.id)
        segment = self.partners[0].ecrm_segment_id
        prospects = self.env["res.partner"].create([{"name": "Prospect A"}, {"name": "Prospect B"}])
        self.env.flush_all()
        cr.execute("DELETE FROM ecrm_segment_member")
        cr.execute("ALTER TABLE res_partner ADD COLUMN ecrm_segment_id jsonb, ADD COLUMN ecrm_stage jsonb")
        set_values = (
            "UPDATE res_partner SET ecrm_segment_id = jsonb_build_object(%s, %s),"
            " ecrm_stage = jsonb_build_object(%s, %s) WHERE id = %s"
        )
        cr.execute(set_values, [company, segment.id, company, "prospect", prospects[0].id])
        cr.execute(set_values, [company, -1, company, "churned", prospects[1].id])  # a deleted segment's id
        cr.execute(set_values, [company, segment.id, company, "active", self.partners[0].id])  # scored: its row
        migration.migrate(cr, "19.0.1.2.0")
        cr.execute("SELECT partner_id, company_id, segment_id, stage FROM ecrm_segment_member ORDER BY partner_id")
        self.assertEqual(
            cr.fetchall(),
            [
                (prospects[0].id, self.env.company.id, segment.id, "prospect"),
                (prospects[1].id, self.env.company.id, None, "churned"),
            ],
        )
        cr.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE (table_name = 'res_partner' AND column_name IN ('ecrm_segment_id', 'ecrm_stage'))"
            "    OR (table_name = 'ecrm_segment_history' AND column_name IN ('create_uid', 'write_date'))"
        )
        self.assertFalse(cr.fetchall())
        migration.migrate(cr, "19.0.1.2.0")  # run again: nothing to do
        self.env.invalidate_all()
        self.assertEqual((prospects[0].ecrm_segment_id, prospects[0].ecrm_stage), (segment, "prospect"))
        self.assertEqual(self.partners[0].ecrm_segment_id, segment)

    def test_rfm_grid(self):
        grid = self.env["ecrm.partner.score"].with_user(self.ecrm_user).get_rfm_grid()
        self.assertEqual(len(grid["cells"]), 25)
        self.assertEqual(grid["total"], 8)
        self.assertEqual(
            sum(c["monetary"] for c in grid["cells"]),
            sum(self.partners.mapped("ecrm_order_total")),
        )
        self.assertEqual(sum(s["count"] for s in grid["segments"]), 8)
        self.assertTrue(all(c["segment"] for c in grid["cells"]))

    def test_export_xlsx(self):
        segment = self.partners[0].ecrm_segment_id
        members = self.partners.filtered(lambda p: p.ecrm_segment_id == segment)
        wizard = self.env["ecrm.segment.export"].with_user(self.ecrm_user).create({"segment_id": segment.id})
        wizard.action_export()
        self.assertEqual(wizard.line_count, len(members))
        self.assertTrue(wizard.file_name.endswith(".xlsx"))
        content = base64.b64decode(wizard.file_data)
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            strings = book.read("xl/sharedStrings.xml").decode()
        for partner in members:
            self.assertIn(partner.name, strings)
        for partner in self.partners - members:
            self.assertNotIn(f">{partner.name}<", strings)
        self.assertIn("RFM", strings)
        data = self.env["ecrm.segment.export"].with_user(self.ecrm_user).export_segment(segment.id)
        self.assertEqual(data["count"], len(members))
        self.assertTrue(base64.b64decode(data["content"]).startswith(b"PK"))
