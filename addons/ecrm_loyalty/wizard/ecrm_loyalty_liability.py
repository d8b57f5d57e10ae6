import io
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

BUCKETS = [
    ("overdue", "Past expiry date"),
    ("0_90", "Expires within 90 days"),
    ("90_180", "Expires in 91-180 days"),
    ("180_365", "Expires in 181-365 days"),
    ("later", "Expires after 365 days"),
    ("never", "Never expires"),
]


class EcrmLoyaltyLiability(models.TransientModel):
    """Outstanding loyalty points and what they are worth, as of a date, for accountants."""

    _name = "ecrm.loyalty.liability"
    _description = "Loyalty Points Liability"

    date = fields.Date("As of", required=True, default=lambda self: self.env.company._ecrm_loyalty_today())
    company_ids = fields.Many2many("res.company", string="Companies", default=lambda self: self.env.companies)
    line_ids = fields.One2many("ecrm.loyalty.liability.line", "liability_id", readonly=True)
    currency_id = fields.Many2one("res.currency", default=lambda self: self.env.company.currency_id)
    total_points = fields.Float("Outstanding Points", compute="_compute_totals")
    total_pending = fields.Float("Pending Points", compute="_compute_totals")
    total_value = fields.Monetary("Outstanding Value", compute="_compute_totals")
    total_breakage = fields.Monetary("Expected Breakage", compute="_compute_totals")
    total_expected = fields.Monetary("Expected Liability", compute="_compute_totals")
    account_balance = fields.Monetary(
        "Contract Liability Balance",
        compute="_compute_totals",
        help="Balance of the programs' contract liability accounts.",
    )
    account_difference = fields.Monetary("Difference to the Ledger", compute="_compute_totals")

    @api.depends("date")
    def _compute_display_name(self):
        for wizard in self:
            wizard.display_name = self.env._("Loyalty Liability as of %(date)s", date=wizard.date or "")

    @api.depends("line_ids", "date", "company_ids")
    def _compute_totals(self):
        for wizard in self:
            lines = wizard.line_ids
            wizard.total_points = sum(lines.mapped("points"))
            wizard.total_pending = sum(lines.mapped("pending_points"))
            wizard.total_value = sum(lines.mapped("value"))
            wizard.total_breakage = sum(lines.mapped("expected_breakage"))
            wizard.total_expected = sum(lines.mapped("expected_liability"))
            balance, ledger = wizard._get_account_reconciliation(wizard.date, wizard._get_company_ids())
            wizard.account_balance = balance
            wizard.account_difference = balance - ledger

    def _get_company_ids(self):
        allowed = self.env.companies
        return tuple((self.company_ids & allowed or allowed).ids)

    # ------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------
    @api.model
    def get_liability(self, date=None, company_ids=None):
        """Outstanding points as of ``date`` (default today) by program, tier and expiry bucket.

        :param date: ``YYYY-MM-DD`` or a date; lines dated after it are ignored
        :param company_ids: companies to report (default: the user's current companies)
        :return: dict ``{date, rows: [{company_id, program_id, program, tier_id, tier, bucket,
            points, pending_points, value, breakage_rate, expected_breakage, expected_liability}],
            totals: {points, pending_points, value, expected_breakage, expected_liability}}``
        """
        self._ecrm_check_access()
        date = fields.Date.to_date(date) if date else self.env.company._ecrm_loyalty_today()
        companies = tuple(company_ids or self.env.companies.ids)
        companies = tuple(set(companies) & set(self.env.user.company_ids.ids)) or (0,)
        Ledger = self.env["ecrm.loyalty.ledger"]
        Ledger.flush_model()
        # one scan of the ledger: group on raw columns first (cheap), buckets on the small result;
        # the redeemed and expired points of the last year give the breakage estimated from history
        self.env.cr.execute(
            SQL(
                """
                SELECT company_id, program_id, tier_id,
                       CASE WHEN expiry_date IS NULL THEN 'never'
                            WHEN expiry_date < %(date)s THEN 'overdue'
                            WHEN expiry_date <= %(date)s + 90 THEN '0_90'
                            WHEN expiry_date <= %(date)s + 180 THEN '90_180'
                            WHEN expiry_date <= %(date)s + 365 THEN '180_365'
                            ELSE 'later' END AS bucket,
                       sum(points), sum(pending_points), sum(value), sum(redeemed), sum(expired)
                  FROM (
                        SELECT company_id, program_id, tier_id, expiry_date,
                               sum(points) AS points, sum(pending_points) AS pending_points, sum(value) AS value,
                               sum(-points) FILTER (WHERE kind = 'redeem' AND date > %(year_ago)s) AS redeemed,
                               sum(-points) FILTER (WHERE kind = 'expire' AND date > %(year_ago)s) AS expired
                          FROM ecrm_loyalty_ledger
                         WHERE date <= %(date)s AND company_id IN %(companies)s
                      GROUP BY company_id, program_id, tier_id, expiry_date
                       ) AS by_expiry
              GROUP BY 1, 2, 3, 4
                """,
                date=date,
                year_ago=fields.Date.add(date, years=-1),
                companies=companies,
            )
        )
        fetched = self.env.cr.fetchall()
        used = defaultdict(lambda: [0.0, 0.0])
        for row in fetched:
            used[row[1]][0] += row[7] or 0.0
            used[row[1]][1] += row[8] or 0.0
        raw = [row[:7] for row in fetched if abs(row[4]) > 1e-6 or abs(row[5]) > 1e-6 or abs(row[6]) > 1e-6]
        programs = self.env["loyalty.program"].sudo().with_context(active_test=False).browse({r[1] for r in raw})
        tiers = self.env["ecrm.loyalty.tier"].sudo().with_context(active_test=False).browse({r[2] for r in raw if r[2]})
        rates = {
            program.id: (
                program.ecrm_breakage_rate / 100.0
                if program.ecrm_breakage_mode == "manual"
                else (sum(used[program.id]) and used[program.id][1] / sum(used[program.id]))
            )
            for program in programs
        }
        rows = []
        totals = defaultdict(float)
        for company_id, program_id, tier_id, bucket, points, pending, value in raw:
            program = programs.browse(program_id)
            rate = rates.get(program_id, 0.0)
            breakage = value * rate
            row = {
                "company_id": company_id,
                "program_id": program_id,
                "program": program.name,
                "tier_id": tier_id or False,
                "tier": tier_id and tiers.browse(tier_id).name or False,
                "bucket": bucket,
                "points": points,
                "pending_points": pending,
                "value": value,
                "breakage_rate": rate,
                "expected_breakage": breakage,
                "expected_liability": value - breakage,
            }
            rows.append(row)
            for key in (
                "points",
                "pending_points",
                "value",
                "expected_breakage",
                "expected_liability",
            ):
                totals[key] += row[key]
        return {
            "date": fields.Date.to_string(date),
            "rows": rows,
            "totals": dict(totals),
        }

    @api.model
    def _get_breakage_rates(self, programs, date):
        """Breakage rate per program: set by hand, or expired / (expired + redeemed) points over
        the year before ``date``."""
        date = fields.Date.to_date(date)
        rates = {p.id: p.ecrm_breakage_rate / 100.0 for p in programs if p.ecrm_breakage_mode == "manual"}
        history = programs.filtered(lambda p: p.ecrm_breakage_mode == "history")
        if history:
            groups = (
                self.env["ecrm.loyalty.ledger"]
                .sudo()  # sudo: the rate is a statistic over all cards of the program
                ._read_group(
                    [
                        ("program_id", "in", history.ids),
                        ("kind", "in", ("redeem", "expire")),
                        ("date", "<=", date),
                        ("date", ">", fields.Date.add(date, years=-1)),
                    ],
                    ["program_id", "kind"],
                    ["points:sum"],
                )
            )
            used = defaultdict(lambda: {"redeem": 0.0, "expire": 0.0})
            for program, kind, points in groups:
                used[program.id][kind] += -points
            for program in history:
                done = used[program.id]["redeem"] + used[program.id]["expire"]
                rates[program.id] = done and used[program.id]["expire"] / done
        return rates

    @api.model
    def _get_account_reconciliation(self, date, company_ids):
        """(credit balance of the contract liability accounts, ledger value of the programs posting to them)."""
        programs = (
            self.env["loyalty.program"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("ecrm_accounting", "=", True),
                    ("ecrm_liability_account_id", "!=", False),
                    ("company_id", "in", list(company_ids) + [False]),
                ]
            )
        )
        if not programs or not date:
            return 0.0, 0.0
        balance = sum(
            -balance
            for [balance] in self.env["account.move.line"]
            .sudo()  # sudo: the report reader may not read journal items
            ._read_group(
                [
                    ("account_id", "in", programs.ecrm_liability_account_id.ids),
                    ("parent_state", "=", "posted"),
                    ("date", "<=", date),
                    ("company_id", "in", company_ids),
                ],
                [],
                ["balance:sum"],
            )
        )
        ledger = sum(
            value
            for [value] in self.env["ecrm.loyalty.ledger"]
            .sudo()
            ._read_group(
                [
                    ("program_id", "in", programs.ids),
                    ("date", "<=", date),
                    ("company_id", "in", company_ids),
                ],
                [],
                ["value:sum"],
            )
        )
        return balance, ledger

    def _ecrm_check_access(self):
        if not self.env.su and not self.env.user.has_group("ecrm_loyalty.ecrm_loyalty_group_accountant"):
            raise UserError(self.env._("Only accountants and loyalty managers can read the loyalty liability."))

    # ------------------------------------------------------------------
    # Screens and exports
    # ------------------------------------------------------------------
    def action_compute(self):
        """Compute the report lines and show them (list, pivot and graph)."""
        self.ensure_one()
        data = self.get_liability(self.date, self._get_company_ids())
        self.line_ids.unlink()
        self.env["ecrm.loyalty.liability.line"].create([dict(row, liability_id=self.id) for row in data["rows"]])
        return {
            "name": self.env._("Loyalty Liability as of %(date)s", date=self.date),
            "type": "ir.actions.act_window",
            "res_model": "ecrm.loyalty.liability.line",
            "view_mode": "graph,pivot,list",
            "domain": [("liability_id", "=", self.id)],
            "context": {"ecrm_liability_id": self.id},
        }

    def action_export_xlsx(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/ecrm_loyalty/liability/{self.id}/xlsx",
            "target": "download",
        }

    def action_print_pdf(self):
        self.ensure_one()
        if not self.line_ids:
            self.action_compute()
        return self.env.ref("ecrm_loyalty.action_report_ecrm_loyalty_liability").report_action(self)

    def _export_xlsx(self):
        """The report as an XLSX workbook (bytes)."""
        import xlsxwriter

        self.ensure_one()
        data = self.get_liability(self.date, self._get_company_ids())
        bucket_names = dict(self.env["ecrm.loyalty.liability.line"]._fields["bucket"]._description_selection(self.env))
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        sheet = workbook.add_worksheet(self.env._("Liability"))
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "#,##0.00"})
        pct = workbook.add_format({"num_format": "0.0%"})
        sheet.write(
            0,
            0,
            self.env._("Loyalty points liability as of %(date)s", date=data["date"]),
            bold,
        )
        headers = [
            self.env._("Program"),
            self.env._("Tier"),
            self.env._("Expiry"),
            self.env._("Points"),
            self.env._("Pending Points"),
            self.env._("Value"),
            self.env._("Breakage Rate"),
            self.env._("Expected Breakage"),
            self.env._("Expected Liability"),
        ]
        for col, header in enumerate(headers):
            sheet.write(2, col, header, bold)
        row_index = 3
        for row in data["rows"]:
            sheet.write(row_index, 0, row["program"])
            sheet.write(row_index, 1, row["tier"] or "")
            sheet.write(row_index, 2, bucket_names.get(row["bucket"], row["bucket"]))
            sheet.write_number(row_index, 3, row["points"], money)
            sheet.write_number(row_index, 4, row["pending_points"], money)
            sheet.write_number(row_index, 5, row["value"], money)
            sheet.write_number(row_index, 6, row["breakage_rate"], pct)
            sheet.write_number(row_index, 7, row["expected_breakage"], money)
            sheet.write_number(row_index, 8, row["expected_liability"], money)
            row_index += 1
        sheet.write(row_index, 0, self.env._("Total"), bold)
        for col, key in (
            (3, "points"),
            (4, "pending_points"),
            (5, "value"),
            (7, "expected_breakage"),
            (8, "expected_liability"),
        ):
            sheet.write_number(row_index, col, data["totals"].get(key, 0.0), money)
        sheet.set_column(0, 2, 24)
        sheet.set_column(3, 8, 16)
        workbook.close()
        return output.getvalue()


class EcrmLoyaltyLiabilityLine(models.TransientModel):
    _name = "ecrm.loyalty.liability.line"
    _description = "Loyalty Points Liability Line"
    _order = "program_id, tier_id, bucket"

    liability_id = fields.Many2one("ecrm.loyalty.liability", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one("res.company", readonly=True)
    program_id = fields.Many2one("loyalty.program", readonly=True)
    tier_id = fields.Many2one("ecrm.loyalty.tier", readonly=True)
    bucket = fields.Selection(BUCKETS, string="Expiry", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    points = fields.Float(readonly=True)
    pending_points = fields.Float(readonly=True)
    value = fields.Monetary(readonly=True)
    breakage_rate = fields.Float(readonly=True, aggregator="avg")
    expected_breakage = fields.Monetary(readonly=True)
    expected_liability = fields.Monetary(readonly=True)

    @api.model_create_multi
    def create(self, vals_list):
        allowed = set(self._fields)
        return super().create([{k: v for k, v in vals.items() if k in allowed} for vals in vals_list])


class EcrmLoyaltyAdjust(models.TransientModel):
    """Manual adjustment of a card's points by a loyalty manager."""

    _name = "ecrm.loyalty.adjust"
    _description = "Adjust Loyalty Points"

    card_id = fields.Many2one("loyalty.card", required=True, readonly=True)
    current_points = fields.Float(related="card_id.points")
    points = fields.Float("Points to Add (negative to remove)", required=True)
    reason = fields.Char(required=True)

    def action_apply(self):
        self.ensure_one()
        if not self.card_id:
            raise UserError(self.env._("Choose a card."))
        self.card_id.ecrm_adjust(self.points, self.reason)
        return {"type": "ir.actions.act_window_close"}
