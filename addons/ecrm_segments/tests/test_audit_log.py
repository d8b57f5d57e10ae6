import psycopg2

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .common import EcrmCase


@tagged("post_install", "-at_install")
class TestAuditLog(EcrmCase):
    def entries(self, model, record_id=None, **filters):
        domain = [("res_model", "=", model)] + [(key, "=", value) for key, value in filters.items()]
        if record_id:
            domain.append(("res_id", "=", record_id))
        return self.env["ecrm.audit.log"].search(domain, order="id")

    def test_scoring_settings_changes(self):
        config = self.env["ecrm.config"]._get_for_company()
        before = self.entries("ecrm.config", config.id)
        config.with_user(self.ecrm_manager).write(
            {"churn_days": 400, "scoring_method": "threshold", "at_risk_days": 180}
        )
        changes = self.entries("ecrm.config", config.id) - before
        self.assertEqual(
            sorted((c.action, c.field_name, c.old_value, c.new_value, c.user_id) for c in changes),
            [
                ("write", "churn_days", "365", "400", self.ecrm_manager),
                ("write", "scoring_method", "Quintiles", "Fixed thresholds", self.ecrm_manager),
            ],
            "one row per changed field, values as users read them; an unchanged field is not logged",
        )
        self.assertTrue(all(c.date and c.company_id == self.env.company for c in changes))
        # the recompute's own bookkeeping (last run, progress) is not a settings change
        self.env["ecrm.partner.score"].recompute()
        self.assertEqual(self.entries("ecrm.config", config.id) - before, changes)

    def test_segment_and_tag_rules(self):
        segment = (
            self.env["ecrm.segment"]
            .with_user(self.ecrm_manager)
            .create(
                {"name": "Big spenders", "code": "big", "rule_type": "domain", "domain": "[('customer_rank', '>', 0)]"}
            )
        )
        created = self.entries("ecrm.segment", segment.id)
        self.assertEqual(set(created.mapped("action")), {"create"})
        self.assertIn(("domain", "[('customer_rank', '>', 0)]"), [(c.field_name, c.new_value) for c in created])
        segment.with_user(self.ecrm_manager).domain = "[('customer_rank', '>', 1)]"
        [change] = self.entries("ecrm.segment", segment.id, action="write")
        self.assertEqual(
            (change.old_value, change.new_value), ("[('customer_rank', '>', 0)]", "[('customer_rank', '>', 1)]")
        )
        tag = self.env["res.partner.category"].create({"name": "VIP"})
        rule = (
            self.env["ecrm.tag.rule"]
            .with_user(self.ecrm_manager)
            .create({"name": "VIP rule", "tag_id": tag.id, "min_orders": 2})
        )
        rule.with_user(self.ecrm_manager).min_orders = 5
        [change] = self.entries("ecrm.tag.rule", rule.id, action="write")
        self.assertEqual((change.field_name, change.old_value, change.new_value), ("min_orders", "2", "5"))
        rule_id = rule.id
        rule.with_user(self.ecrm_manager).unlink()
        deleted = self.entries("ecrm.tag.rule", rule_id, action="unlink")
        self.assertIn(("name", "VIP rule", ""), [(c.field_name, c.old_value, c.new_value) for c in deleted])

    def test_segment_export_is_logged(self):
        segment = self.env.ref("ecrm_segments.segment_champions")
        result = self.env["ecrm.segment.export"].with_user(self.ecrm_user).export_segment(segment.id)
        [entry] = self.entries("ecrm.segment", segment.id, action="export")
        self.assertEqual((entry.user_id, entry.new_value), (self.ecrm_user, str(result["count"])))

    def test_append_only_and_readers(self):
        config = self.env["ecrm.config"]._get_for_company()
        config.churn_days = 500
        entry = self.entries("ecrm.config", config.id, action="write")[-1:]
        with self.assertRaisesRegex(UserError, "append-only"):
            entry.write({"new_value": "1"})
        with self.assertRaisesRegex(UserError, "append-only"):
            entry.unlink()
        with self.assertRaisesRegex(UserError, "written by the eCRM addons only"):
            self.env["ecrm.audit.log"].create({"action": "write", "res_model": "ecrm.config", "res_id": config.id})
        self.env.flush_all()
        for statement in (
            SQL("UPDATE ecrm_audit_log SET new_value = 'x' WHERE id = %s", entry.id),
            SQL("DELETE FROM ecrm_audit_log WHERE id = %s", entry.id),
        ):
            with self.subTest(statement=statement.code), mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.Error):
                with self.env.cr.savepoint():
                    self.env.cr.execute(statement)
        self.assertEqual(entry.with_user(self.ecrm_manager).new_value, "500")
        for user in (self.ecrm_user, self.plain_user):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["ecrm.audit.log"].with_user(user).search([])

    def test_report_menu_is_for_managers(self):
        menus = ["ecrm_segments.menu_ecrm_audit_log", "ecrm_segments.menu_ecrm_privacy_settings"]
        self.assertEqual(self.visible_menu_xmlids(self.ecrm_manager, menus), set(menus))
        self.assertFalse(self.visible_menu_xmlids(self.ecrm_user, menus))
        self.assertEqual(
            self.visible_menu_xmlids(self.ecrm_user, ["ecrm_segments.menu_ecrm_consent_history"]),
            {"ecrm_segments.menu_ecrm_consent_history"},
        )
        # the report groups by model, user and date
        self.env["ecrm.config"]._get_for_company().churn_days = 420
        groups = (
            self.env["ecrm.audit.log"]
            .with_user(self.ecrm_manager)
            ._read_group([("res_model", "=", "ecrm.config")], ["res_model", "user_id", "date:day"], ["__count"])
        )
        self.assertTrue(groups and all(count for *_keys, count in groups))
