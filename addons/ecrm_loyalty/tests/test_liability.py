import io
import zipfile

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tests.common import freeze_time

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyLiability(EcrmLoyaltyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(cls.env, login="loyalty_accountant", groups="account.group_account_readonly")
        Account = cls.env["account.account"]
        cls.liability_account = Account.create(
            {"name": "Loyalty contract liability", "code": "289100", "account_type": "liability_current"}
        )
        cls.revenue_account = Account.create({"name": "Loyalty revenue", "code": "409100", "account_type": "income"})
        cls.journal = cls.env["account.journal"].create({"name": "Loyalty", "code": "LOYT", "type": "general"})

    def _program_totals(self, data):
        rows = [row for row in data["rows"] if row["program_id"] == self.program.id]
        return {
            key: sum(row[key] for row in rows) for key in ("points", "value", "expected_breakage", "expected_liability")
        }

    def _ledger_sum(self, date):
        lines = self.Ledger.search([("date", "<=", date), ("program_id", "=", self.program.id)])
        return sum(lines.mapped("points")), sum(lines.mapped("value"))

    def test_liability_equals_ledger(self):
        with freeze_time("2026-01-10"):
            self._confirmed_order(qty=5)
        with freeze_time("2026-02-10"):
            self._confirmed_order(qty=3)
            self.card.ecrm_redeem(200, "Shop")
        other = self.env["res.partner"].create({"name": "Other"})
        with freeze_time("2026-03-10"):
            self._confirmed_order(other, qty=2)
        Liability = self.env["ecrm.loyalty.liability"]
        for date in ("2026-01-31", "2026-02-28", "2026-03-31"):
            totals = self._program_totals(Liability.get_liability(date))
            points, value = self._ledger_sum(date)
            self.assertAlmostEqual(totals["points"], points)
            self.assertAlmostEqual(totals["value"], value)
        data = Liability.get_liability("2026-03-31")
        self.assertAlmostEqual(self._program_totals(data)["points"], 800)
        self.assertAlmostEqual(self._program_totals(data)["value"], 8.0)
        self.assertEqual({row["bucket"] for row in data["rows"] if row["program_id"] == self.program.id}, {"180_365"})
        self.assertEqual(self._program_totals(Liability.get_liability("2025-12-31"))["points"], 0)

    def test_breakage_and_expected_liability(self):
        self.program.write({"ecrm_breakage_mode": "manual", "ecrm_breakage_rate": 20})
        self._confirmed_order(qty=10)
        totals = self._program_totals(self.env["ecrm.loyalty.liability"].get_liability())
        self.assertAlmostEqual(totals["value"], 10.0)
        self.assertAlmostEqual(totals["expected_breakage"], 2.0)
        self.assertAlmostEqual(totals["expected_liability"], 8.0)
        # from history: 300 expired against 100 redeemed -> 75 %
        self.program.write({"ecrm_breakage_mode": "history", "ecrm_expiry_months": 1})
        with freeze_time("2026-01-01"):
            self._give_points(400)
            self.card.ecrm_redeem(100, "Shop")
        with freeze_time("2026-03-01"):
            self.run_cron(self.Lot._cron_expire)
            rates = self.env["ecrm.loyalty.liability"]._get_breakage_rates(self.program, "2026-03-01")
        self.assertAlmostEqual(rates[self.program.id], 0.75)
        with freeze_time("2026-02-20"):
            self._give_points(50, reason="Still valid")
        with freeze_time("2026-03-01"):
            rows = self.env["ecrm.loyalty.liability"].get_liability()["rows"]
        self.assertEqual({row["breakage_rate"] for row in rows if row["program_id"] == self.program.id}, {0.75})

    def test_journal_entries_balanced_and_reconciled(self):
        self.program.write(
            {
                "ecrm_accounting": True,
                "ecrm_journal_id": self.journal.id,
                "ecrm_liability_account_id": self.liability_account.id,
                "ecrm_revenue_account_id": self.revenue_account.id,
            }
        )
        order = self._confirmed_order(qty=5)
        self.card.ecrm_redeem(100, "Shop")
        order._action_cancel()
        moves = self.env["account.move"].search([("ecrm_loyalty_entry", "=", True)])
        self.assertEqual(len(moves), 3)
        for move in moves:
            self.assertEqual(move.state, "posted")
            self.assertAlmostEqual(sum(move.line_ids.mapped("debit")), sum(move.line_ids.mapped("credit")))
        issue = moves.filtered(
            lambda m: m.line_ids.filtered(lambda line: line.account_id == self.liability_account).credit
        )
        self.assertAlmostEqual(
            sum(issue.line_ids.filtered(lambda line: line.account_id == self.liability_account).mapped("credit")), 5.0
        )
        wizard = self.env["ecrm.loyalty.liability"].create({})
        self.assertAlmostEqual(wizard.account_balance, 0.0)
        self.assertAlmostEqual(wizard.account_difference, 0.0)
        self._confirmed_order(qty=2)
        wizard = self.env["ecrm.loyalty.liability"].create({})
        self.assertAlmostEqual(wizard.account_balance, 2.0)
        self.assertAlmostEqual(wizard.account_difference, 0.0)
        self.assertAlmostEqual(self._program_totals(self.env["ecrm.loyalty.liability"].get_liability())["value"], 2.0)

    def test_report_screen_xlsx_pdf(self):
        self._confirmed_order(qty=3)
        wizard = self.env["ecrm.loyalty.liability"].with_user(self.accountant).create({})
        action = wizard.action_compute()
        self.assertEqual(action["res_model"], "ecrm.loyalty.liability.line")
        self.assertIn("graph", action["view_mode"])
        line = wizard.line_ids.filtered(lambda line: line.program_id == self.program)
        self.assertRecordValues(line, [{"points": 300, "value": 3.0, "bucket": "180_365"}])
        self.assertAlmostEqual(wizard.total_value, sum(wizard.line_ids.mapped("value")))
        content = wizard._export_xlsx()
        with zipfile.ZipFile(io.BytesIO(content)) as xlsx:
            strings = xlsx.read("xl/sharedStrings.xml").decode()
        self.assertIn("Tea Club", strings)
        self.assertIn("Expected Liability", strings)
        pdf, report_type = self.env["ir.actions.report"]._render_qweb_html(
            "ecrm_loyalty.action_report_ecrm_loyalty_liability", wizard.ids
        )
        self.assertEqual(report_type, "html")
        self.assertIn(b"Tea Club", pdf)

    def test_one_calendar_whatever_the_users_time_zone(self):
        """The ledger's dates and the accountant's as-of date are on the company's calendar: an order
        confirmed by a user in Brussels at 23:30 UTC counts in the liability of an accountant in
        New York opening the report at that moment (the three users' "today" are three dates)."""
        self.env.user.tz = "Europe/Brussels"
        self.accountant.tz = "America/New_York"
        self.env.company.partner_id.tz = False
        with freeze_time("2026-03-10 23:30:00"):
            order = self._confirmed_order(qty=3)
            line = self.Ledger.search([("order_id", "=", order.id)])
            self.assertEqual(line.date, fields.Date.to_date("2026-03-10"))
            wizard = self.env["ecrm.loyalty.liability"].with_user(self.accountant).create({})
            self.assertEqual(wizard.date, fields.Date.to_date("2026-03-10"))
            wizard.action_compute()
            self.assertEqual(
                sum(wizard.line_ids.filtered(lambda line: line.program_id == self.program).mapped("points")), 300
            )
        self.env.company.partner_id.tz = "Asia/Shanghai"
        with freeze_time("2026-03-11 23:30:00"):
            order = self._confirmed_order(qty=1)
            line = self.Ledger.search([("order_id", "=", order.id)])
            self.assertEqual(line.date, fields.Date.to_date("2026-03-12"))
            self.assertEqual(line.lot_id.expiry_date.day, 12)
            data = self.env["ecrm.loyalty.liability"].with_user(self.accountant).get_liability()
            self.assertEqual(data["date"], "2026-03-12")
            self.assertEqual(self._program_totals(data)["points"], 400)

    def test_access(self):
        self.assertTrue(self.accountant.has_group("ecrm_loyalty.ecrm_loyalty_group_accountant"))
        self.assertTrue(self.loyalty_manager.has_group("ecrm_loyalty.ecrm_loyalty_group_accountant"))
        with self.assertRaises(UserError):
            self.env["ecrm.loyalty.liability"].with_user(self.loyalty_user).get_liability()
        with self.assertRaises(AccessError):
            self.env["ecrm.loyalty.liability"].with_user(self.salesman).create({})
        menus = ["ecrm_loyalty.menu_ecrm_loyalty_liability"]
        self.assertEqual(self.visible_menu_xmlids(self.accountant, menus), set(menus))
        self.assertEqual(self.visible_menu_xmlids(self.loyalty_user, menus), set())
