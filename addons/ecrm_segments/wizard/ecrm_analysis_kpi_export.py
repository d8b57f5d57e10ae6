import base64
import io

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from odoo import api, fields, models
from odoo.exceptions import UserError

NUMBER_FORMATS = {"integer": "#,##0", "percent": "0.0%", "monetary": "#,##0.00", "float": "#,##0.00"}


class EcrmAnalysisKpiExport(models.TransientModel):
    """Download an analysis (KPI board, cohort matrix, trend and forecast) as an XLSX
    workbook with its figures and a chart."""

    _name = "ecrm.analysis.kpi.export"
    _description = "Export a Customer Analysis"

    analysis = fields.Selection(
        [("kpi", "KPI board"), ("cohort", "Cohorts"), ("trend", "Trends and forecast")],
        required=True,
        default="kpi",
    )
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True)
    grain = fields.Selection([("month", "Month"), ("week", "Week")], default="month")
    horizon = fields.Integer(string="Forecast periods", default=3)
    segment_ids = fields.Many2many("ecrm.segment", string="Segments")
    tag_ids = fields.Many2many("res.partner.category", string="Tags")
    team_ids = fields.Many2many("crm.team", string="Channels / teams")
    file_data = fields.Binary(string="File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)

    def action_export(self):
        """Build the workbook and keep the wizard open with its download link."""
        self.ensure_one()
        content = self._build_xlsx()
        self.write({"file_data": base64.b64encode(content), "file_name": self._file_name()})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    @api.model
    def export_xlsx(
        self, analysis, date_from, date_to, grain="month", horizon=3, segment_ids=None, tag_ids=None, team_ids=None
    ):
        """RPC: the XLSX of one analysis, with the parameters of its ``get_*`` method.

        :param str analysis: ``kpi``, ``cohort`` or ``trend``
        :return: dict with ``file_name`` and ``content`` (base64)
        """
        wizard = self.create(
            {
                "analysis": analysis,
                "date_from": date_from,
                "date_to": date_to,
                "grain": grain,
                "horizon": horizon,
                "segment_ids": [(6, 0, segment_ids or [])],
                "tag_ids": [(6, 0, tag_ids or [])],
                "team_ids": [(6, 0, team_ids or [])],
            }
        )
        return {"file_name": wizard._file_name(), "content": base64.b64encode(wizard._build_xlsx()).decode()}

    # ------------------------------------------------------------------
    def _file_name(self):
        return f"{self.analysis}-{self.date_from}-{self.date_to}.xlsx"

    def _build_xlsx(self):
        self.ensure_one()
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise UserError(
                self.env._(
                    "The start date %(start)s is after the end date %(end)s.", start=self.date_from, end=self.date_to
                )
            )
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        styles = {
            "header": workbook.add_format({"bold": True, "bg_color": "#DDEBF7"}),
            "title": workbook.add_format({"bold": True, "font_size": 13}),
            **{key: workbook.add_format({"num_format": fmt}) for key, fmt in NUMBER_FORMATS.items()},
        }
        getattr(self, f"_write_{self.analysis}")(workbook, styles)
        workbook.close()
        return output.getvalue()

    def _write_kpi(self, workbook, styles):
        data = self.env["ecrm.analysis.kpi"].get_kpis(self.date_from, self.date_to)
        sheet = workbook.add_worksheet(self.env._("KPIs")[:31])
        sheet.write(0, 0, self.env._("KPI board"), styles["title"])
        sheet.write(
            1,
            0,
            self.env._(
                "%(start)s to %(end)s against %(pstart)s to %(pend)s, %(currency)s",
                start=data["period"]["date_from"],
                end=data["period"]["date_to"],
                pstart=data["previous"]["date_from"],
                pend=data["previous"]["date_to"],
                currency=data["currency"]["name"],
            ),
        )
        headers = [self.env._("Figure"), self.env._("Period"), self.env._("Previous period"), self.env._("Change")]
        sheet.write_row(3, 0, headers, styles["header"])
        for row, kpi in enumerate(data["kpis"], start=4):
            sheet.write_string(row, 0, kpi["label"])
            for col, key in ((1, "value"), (2, "previous")):
                self._write_number(sheet, row, col, kpi[key], styles[kpi["format"]])
            self._write_number(sheet, row, 3, kpi["change"], styles["percent"])
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 3, 16)
        segments = workbook.add_worksheet(self.env._("Revenue by segment")[:31])
        segments.write_row(
            0,
            0,
            [self.env._("Segment"), self.env._("Customers"), self.env._("Revenue"), self.env._("Previous period")],
            styles["header"],
        )
        for row, segment in enumerate(data["segments"], start=1):
            segments.write_string(row, 0, segment["name"])
            segments.write_number(row, 1, segment["customers"], styles["integer"])
            segments.write_number(row, 2, segment["revenue"], styles["monetary"])
            self._write_number(segments, row, 3, segment["previous"], styles["monetary"])
        segments.set_column(0, 0, 28)
        segments.set_column(1, 3, 16)
        last = len(data["segments"])
        if last:
            chart = workbook.add_chart({"type": "column"})
            for col in (2, 3):
                chart.add_series(
                    {
                        "name": [segments.name, 0, col],
                        "categories": [segments.name, 1, 0, last, 0],
                        "values": [segments.name, 1, col, last, col],
                    }
                )
            chart.set_title({"name": self.env._("Revenue by segment")})
            segments.insert_chart(1, 5, chart)

    def _write_cohort(self, workbook, styles):
        data = self.env["ecrm.analysis.cohort"].get_cohorts(
            self.date_from,
            self.date_to,
            segment_ids=self.segment_ids.ids,
            tag_ids=self.tag_ids.ids,
            team_ids=self.team_ids.ids,
        )
        offsets = data["offsets"]
        cohorts = data["cohorts"]
        for measure, title, fmt in (
            ("retention", self.env._("Retention"), "percent"),
            ("revenue_per_customer", self.env._("Revenue per customer"), "monetary"),
        ):
            sheet = workbook.add_worksheet(title[:31])
            headers = [self.env._("Cohort"), self.env._("Customers")] + [
                self.env._("Month %(n)s", n=n) for n in range(offsets)
            ]
            sheet.write_row(0, 0, headers, styles["header"])
            for row, cohort in enumerate(cohorts, start=1):
                sheet.write_string(row, 0, cohort["cohort"])
                sheet.write_number(row, 1, cohort["size"], styles["integer"])
                for cell in cohort["cells"]:
                    sheet.write_number(row, 2 + cell["offset"], cell[measure], styles[fmt])
            if cohorts and offsets:
                # the heatmap: colour grows with the value
                sheet.conditional_format(
                    1,
                    2,
                    len(cohorts),
                    1 + offsets,
                    {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#017E84"},
                )
            sheet.freeze_panes(1, 2)
            sheet.set_column(0, 1, 12)
            if measure == "retention" and cohorts and offsets > 1:
                chart = workbook.add_chart({"type": "line"})
                for row, cohort in enumerate(cohorts[-12:], start=1 + max(0, len(cohorts) - 12)):
                    chart.add_series(
                        {
                            "name": [sheet.name, row, 0],
                            "categories": [sheet.name, 0, 2, 0, 1 + offsets],
                            "values": [sheet.name, row, 2, row, 1 + len(cohort["cells"])],
                        }
                    )
                chart.set_title({"name": self.env._("Retention by cohort")})
                chart.set_y_axis({"num_format": "0%"})
                sheet.insert_chart(len(cohorts) + 3, 0, chart, {"x_scale": 1.6, "y_scale": 1.3})

    def _write_trend(self, workbook, styles):
        data = self.env["ecrm.analysis.trend"].get_trends(
            self.date_from,
            self.date_to,
            grain=self.grain or "month",
            horizon=self.horizon,
            segment_id=self.segment_ids[:1].id or False,
        )
        sheet = workbook.add_worksheet(self.env._("Trend and forecast")[:31])
        headers = [
            self.env._("Period"),
            self.env._("Orders"),
            self.env._("Revenue"),
            self.env._("Forecast orders"),
            self.env._("Orders low"),
            self.env._("Orders high"),
            self.env._("Forecast revenue"),
            self.env._("Revenue low"),
            self.env._("Revenue high"),
        ]
        sheet.write_row(0, 0, headers, styles["header"])
        row = 0
        for row, (period, orders, revenue) in enumerate(
            zip(data["periods"], data["series"]["orders"], data["series"]["revenue"], strict=True), start=1
        ):
            sheet.write_string(row, 0, period)
            sheet.write_number(row, 1, orders, styles["integer"])
            sheet.write_number(row, 2, revenue, styles["monetary"])
        known = row
        forecast = data["forecast"]
        for i, period in enumerate(forecast["periods"] if forecast["revenue"]["mean"] else []):
            row = known + 1 + i
            sheet.write_string(row, 0, period)
            for col, (measure, key) in enumerate(
                [(m, k) for m in ("orders", "revenue") for k in ("mean", "lower", "upper")], start=3
            ):
                sheet.write_number(row, col, forecast[measure][key][i], styles["monetary"])
        last = row
        note = known + len(forecast["periods"]) + 3
        sheet.write(note, 0, self.env._("Backtest error (MAPE), orders"), styles["header"])
        self._write_number(sheet, note, 1, forecast["orders"]["mape"], styles["percent"])
        sheet.write(note + 1, 0, self.env._("Backtest error (MAPE), revenue"), styles["header"])
        self._write_number(sheet, note + 1, 1, forecast["revenue"]["mape"], styles["percent"])
        sheet.write(
            note + 2,
            0,
            self.env._(
                "Periods held out: %(n)s; prediction interval: %(level)s%%",
                n=forecast["revenue"]["holdout"],
                level=round(forecast["revenue"]["level"] * 100),
            ),
        )
        sheet.set_column(0, 0, 30)
        sheet.set_column(1, 8, 14)
        if known:
            chart = workbook.add_chart({"type": "line"})
            for col in (2, 6, 7, 8):
                chart.add_series(
                    {
                        "name": [sheet.name, 0, col],
                        "categories": [sheet.name, 1, 0, last, 0],
                        "values": [sheet.name, 1, col, last, col],
                    }
                )
            chart.set_title({"name": self.env._("Revenue and forecast")})
            sheet.insert_chart(xl_rowcol_to_cell(1, 10), chart, {"x_scale": 1.5, "y_scale": 1.3})

    @api.model
    def _write_number(self, sheet, row, col, value, style):
        if value is None:
            sheet.write_blank(row, col, None)
        else:
            sheet.write_number(row, col, value, style)
