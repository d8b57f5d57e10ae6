import base64
import io

import xlsxwriter

from odoo import api, fields, models

EXPORT_FORMATS = [
    ("frequency", "0"),
    ("monetary", "#,##0.00"),
    ("aov", "#,##0.00"),
    ("first_order_date", "yyyy-mm-dd"),
    ("last_order_date", "yyyy-mm-dd"),
    ("recency_days", "0"),
    ("r_score", "0"),
    ("f_score", "0"),
    ("m_score", "0"),
    ("rfm_code", None),
    ("stage", None),
    ("clv_historic", "#,##0.00"),
    ("clv_predicted", "#,##0.00"),
    ("p_alive", "0.00%"),
    ("churn_risk", "0.00%"),
    ("value_at_stake", "#,##0.00"),
]


class EcrmSegmentExport(models.TransientModel):
    """Download the customers of a segment with their scores as an XLSX workbook."""

    _name = "ecrm.segment.export"
    _description = "Export Segment Customers"

    segment_id = fields.Many2one("ecrm.segment", required=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, required=True)
    file_data = fields.Binary(string="File", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)
    line_count = fields.Integer(string="Customers Exported", readonly=True)

    def action_export(self):
        """Build the workbook and keep the wizard open with its download link."""
        self.ensure_one()
        content, count = self._build_xlsx()
        self.write(
            {
                "file_data": base64.b64encode(content),
                "file_name": f"{self.segment_id.code or 'segment'}-{fields.Date.context_today(self)}.xlsx",
                "line_count": count,
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    @api.model
    def export_segment(self, segment_id, company_id=None):
        """RPC: the XLSX of a segment's customers.

        :return: dict with ``file_name``, ``content`` (base64) and ``count`` (customers)
        """
        wizard = self.create({"segment_id": segment_id, "company_id": company_id or self.env.company.id})
        content, count = wizard._build_xlsx()
        return {
            "file_name": f"{wizard.segment_id.code}.xlsx",
            "content": base64.b64encode(content).decode(),
            "count": count,
        }

    def _get_columns(self):
        """(score field, header, number format) of the exported columns; headers are the
        (translated) labels of the score fields."""
        Score = self.env["ecrm.partner.score"]
        return [(fname, Score._fields[fname]._description_string(self.env), fmt) for fname, fmt in EXPORT_FORMATS]

    def _build_xlsx(self):
        self.ensure_one()
        columns = self._get_columns()
        scores = self.env["ecrm.partner.score"].search(
            [
                ("segment_id", "=", self.segment_id.id),
                ("company_id", "=", self.company_id.id),
            ],
            order="monetary desc, id",
        )
        stage_labels = dict(self.env["ecrm.partner.score"]._fields["stage"]._description_selection(self.env))
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        sheet = workbook.add_worksheet((self.segment_id.name or "Segment")[:31])
        bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7"})
        formats = {fmt: workbook.add_format({"num_format": fmt}) for _f, _h, fmt in columns if fmt}
        headers = [
            self.env._("Customer"),
            self.env._("Email"),
            self.env._("Segment"),
        ] + [c[1] for c in columns]
        sheet.write_row(0, 0, headers, bold)
        sheet.freeze_panes(1, 1)
        for row, score in enumerate(scores, start=1):
            partner = score.partner_id
            sheet.write(row, 0, partner.display_name or "")
            sheet.write(row, 1, partner.email or "")
            sheet.write(row, 2, self.segment_id.name)
            for col, (fname, _header, fmt) in enumerate(columns, start=3):
                value = score[fname]
                if fname == "stage":
                    value = stage_labels.get(value, "")
                if value is False or value is None:
                    sheet.write_blank(row, col, None)
                elif fmt == "yyyy-mm-dd":
                    sheet.write_datetime(row, col, fields.Datetime.to_datetime(value), formats[fmt])
                elif fmt:
                    sheet.write_number(row, col, value, formats[fmt])
                else:
                    sheet.write_string(row, col, str(value))
        sheet.set_column(0, 1, 28)
        sheet.set_column(2, len(headers), 14)
        workbook.close()
        return output.getvalue(), len(scores)
