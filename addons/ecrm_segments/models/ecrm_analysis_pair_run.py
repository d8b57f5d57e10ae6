import base64
import io
import time

import xlsxwriter

from odoo import api, fields, models
from odoo.tools import SQL

from .ecrm_analysis_cluster_run import _download
from .ecrm_analysis_pair import PAIR_ORDERS

CHART_PAIRS = 20


class EcrmAnalysisPairRun(models.Model):
    """A stored "bought together" analysis: its parameters and the pairs found."""

    _name = "ecrm.analysis.pair.run"
    _description = "Bought Together Analysis"
    _order = "id desc"

    name = fields.Char(required=True, default=lambda self: self.env._("Bought together"))
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, readonly=True)
    categ_ids = fields.Many2many(
        "product.category",
        string="Categories",
        help="Only products of these categories (and their subcategories); empty: all.",
    )
    min_support = fields.Float(
        string="Minimum Support",
        default=0.001,
        digits=(16, 6),
        help="Keep pairs found together in at least this share of the orders (more than 0, at most 1).",
    )
    min_orders = fields.Integer(string="Minimum Orders Together", default=2)
    max_pairs = fields.Integer(string="Pairs Kept", default=1000, help="The best pairs by support are kept.")
    order_by = fields.Selection(PAIR_ORDERS, string="Rank By", default="support", required=True)
    state = fields.Selection([("draft", "Draft"), ("done", "Computed")], default="draft", readonly=True)
    computed_on = fields.Datetime(readonly=True)
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 2))
    total_orders = fields.Integer(string="Orders Analysed", readonly=True)
    pair_count = fields.Integer(string="Pairs", readonly=True)
    pair_ids = fields.One2many("ecrm.analysis.pair", "run_id", string="Pairs Found", readonly=True)

    @api.constrains("min_support", "min_orders", "max_pairs", "order_by")
    def _check_params(self):
        for run in self:
            run.env["ecrm.analysis.pair"]._check_pair_params(
                run.min_support, run.min_orders, run.max_pairs, run.order_by
            )

    def action_compute(self):
        """Compute the pairs now (replacing those of a previous computation of this run)."""
        Pair = self.env["ecrm.analysis.pair"]
        for run in self:
            started = time.monotonic()
            rows = Pair.get_bought_together(
                categ_ids=run.categ_ids.ids or None,
                min_support=run.min_support or None,
                min_orders=run.min_orders,
                limit=run.max_pairs,
                order=run.order_by,
                company_id=run.company_id.id,
            )
            run._store_pairs(rows)
            run.write(
                {
                    "state": "done",
                    "computed_on": fields.Datetime.now(),
                    "duration": time.monotonic() - started,
                    "total_orders": rows[0]["total_orders"] if rows else run._count_orders(),
                    "pair_count": len(rows),
                }
            )
        return True

    def _count_orders(self):
        self.env.cr.execute(
            SQL(
                """SELECT COUNT(DISTINCT l.order_id) FROM sale_order_line l JOIN sale_order so ON so.id = l.order_id
                    WHERE so.company_id = %s AND so.state = 'sale' AND l.product_id IS NOT NULL
                      AND l.display_type IS NULL""",
                self.company_id.id,
            )
        )
        return self.env.cr.fetchone()[0]

    def _store_pairs(self, rows):
        """Replace the pairs of this run with ``rows`` in two statements (derived data, no history)."""
        self.ensure_one()
        Pair = self.env["ecrm.analysis.pair"]
        self.env.cr.execute(SQL("DELETE FROM ecrm_analysis_pair WHERE run_id = %s", self.id))
        if rows:
            columns = ["product_a_id", "product_b_id", "orders", "orders_a", "orders_b", "support",
                       "confidence_ab", "confidence_ba", "lift"]  # fmt: skip
            integers = {"product_a_id", "product_b_id", "orders", "orders_a", "orders_b"}
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO ecrm_analysis_pair (run_id, company_id, categ_a_id, categ_b_id, %(columns)s)
                    SELECT %(run)s, %(company)s, ta.categ_id, tb.categ_id, %(source)s
                      FROM (SELECT %(arrays)s) r
                      JOIN product_product pa ON pa.id = r.product_a_id
                      JOIN product_template ta ON ta.id = pa.product_tmpl_id
                      JOIN product_product pb ON pb.id = r.product_b_id
                      JOIN product_template tb ON tb.id = pb.product_tmpl_id
                    """,
                    columns=SQL(", ").join(SQL.identifier(c) for c in columns),
                    source=SQL(", ").join(SQL.identifier("r", c) for c in columns),
                    arrays=SQL(", ").join(
                        SQL(
                            "UNNEST(%s::int[]) AS %s" if c in integers else "UNNEST(%s::float8[]) AS %s",
                            [row[c] for row in rows],
                            SQL.identifier(c),
                        )
                        for c in columns
                    ),
                    run=self.id,
                    company=self.company_id.id,
                )
            )
        Pair.invalidate_model()

    def action_open_pairs(self):
        """The pairs of this analysis in a list, graph and pivot."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.ecrm_analysis_pair_action")
        action["domain"] = [("run_id", "=", self.id)]
        action["context"] = {"default_run_id": self.id}
        action["name"] = self.name
        return action

    def action_export_xlsx(self):
        """Download the pairs as an XLSX workbook."""
        self.ensure_one()
        return _download(self, self.export_xlsx())

    def export_xlsx(self):
        """The workbook of this analysis: sheet *Pairs* (every pair with its figures) and a
        bar chart of the lift of the first pairs.

        :return: dict ``{file_name, content}`` (content: base64 XLSX)
        """
        self.ensure_one()
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = book.add_format({"bold": True})
        percent = book.add_format({"num_format": "0.00%"})
        ratio = book.add_format({"num_format": "0.000"})
        sheet = book.add_worksheet(self.env._("Pairs"))
        headers = [
            (self.env._("Product"), None, 30), (self.env._("Bought With"), None, 30), (self.env._("Category"), None, 20),
            (self.env._("Category (Bought With)"), None, 20), (self.env._("Orders Together"), None, 12),
            (self.env._("Orders with Product"), None, 12), (self.env._("Orders with Bought With"), None, 12), (self.env._("Support"), percent, 12),
            (self.env._("Confidence (Product → Bought With)"), percent, 14),
            (self.env._("Confidence (Bought With → Product)"), percent, 14), (self.env._("Lift"), ratio, 10),
        ]  # fmt: skip
        for col, (title, fmt, width) in enumerate(headers):
            sheet.write(0, col, title, bold)
            sheet.set_column(col, col, width, fmt)
        pairs = self.pair_ids.sorted(lambda p: (-p.orders, -p.lift, p.id))
        for row, pair in enumerate(pairs, start=1):
            sheet.write_row(
                row,
                0,
                [
                    pair.product_a_id.display_name,
                    pair.product_b_id.display_name,
                    pair.categ_a_id.display_name or "",
                    pair.categ_b_id.display_name or "",
                    pair.orders,
                    pair.orders_a,
                    pair.orders_b,
                    pair.support,
                    pair.confidence_ab,
                    pair.confidence_ba,
                    pair.lift,
                ],  # fmt: skip
            )
            if row <= CHART_PAIRS:
                sheet.write(row, len(headers), f"{pair.product_a_id.display_name} + {pair.product_b_id.display_name}")
        if pairs:
            shown = min(len(pairs), CHART_PAIRS)
            chart = book.add_chart({"type": "bar"})
            chart.add_series(
                {
                    "name": self.env._("Lift"),
                    "categories": [sheet.name, 1, len(headers), shown, len(headers)],
                    "values": [sheet.name, 1, 10, shown, 10],
                }
            )
            chart.set_title({"name": self.env._("Lift of the pairs bought together most often")})
            chart.set_legend({"none": True})
            chart.set_y_axis({"reverse": True})
            sheet.insert_chart(1, len(headers) + 2, chart, {"x_scale": 1.5, "y_scale": 2})
        book.close()
        return {
            "file_name": f"bought-together-{self.id}-{fields.Date.context_today(self)}.xlsx",
            "content": base64.b64encode(buffer.getvalue()).decode(),
        }
