import base64
import io
import re
import zipfile
from xml.etree import ElementTree

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import EcrmCase
from .test_analysis_kpi import AnalysisDataMixin

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def read_xlsx(content):
    """{sheet name: {cell ref: value}} and the chart parts of an XLSX file, read from its XML."""
    book = zipfile.ZipFile(io.BytesIO(content))
    names = book.namelist()
    shared = []
    if "xl/sharedStrings.xml" in names:
        root = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
        shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")) for si in root.findall("m:si", NS)]
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    sheets = {}
    for index, sheet in enumerate(workbook.find("m:sheets", NS), start=1):
        root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{index}.xml"))
        cells = {}
        for cell in root.iter(f"{{{NS['m']}}}c"):
            value = cell.find("m:v", NS)
            if value is None:
                continue
            cells[cell.get("r")] = shared[int(value.text)] if cell.get("t") == "s" else float(value.text)
        sheets[sheet.get("name")] = cells
    charts = {name: book.read(name).decode() for name in names if re.match(r"xl/charts/chart\d+\.xml", name)}
    return sheets, charts


@tagged("post_install", "-at_install", "ecrm")
class TestAnalysisExport(EcrmCase, AnalysisDataMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "in", ("sale", "draft", "sent"))]).write({"state": "cancel"})
        cls.ana, cls.bo = cls.env["res.partner"].create([{"name": "Export Ana"}, {"name": "Export Bo"}])
        cls.order_on(cls.ana, 100, "2026-01-05")
        cls.order_on(cls.ana, 50, "2026-02-10")
        cls.order_on(cls.bo, 200, "2026-02-20")
        cls.order_on(cls.bo, 40, "2026-03-03")
        cls.env["ecrm.partner.score"].recompute()
        cls.Export = cls.env["ecrm.analysis.kpi.export"].with_user(cls.ecrm_user)

    def export(self, analysis, date_from, date_to, **params):
        result = self.Export.export_xlsx(analysis, date_from, date_to, **params)
        return read_xlsx(base64.b64decode(result["content"]))

    def test_kpi_workbook(self):
        sheets, charts = self.export("kpi", "2026-02-01", "2026-02-28")
        kpis = sheets["KPIs"]
        rows = {kpis[f"A{r}"]: (kpis.get(f"B{r}"), kpis.get(f"C{r}")) for r in range(5, 17)}
        self.assertEqual(rows["Active customers"], (2.0, 1.0))
        self.assertEqual(rows["New customers"], (1.0, 1.0))
        self.assertEqual(rows["Revenue"], (250.0, 100.0))
        self.assertEqual(rows["Retention rate"], (1.0, None))
        segments = sheets["Revenue by segment"]
        self.assertEqual(sum(v for k, v in segments.items() if k.startswith("C") and k != "C1"), 250.0)
        [chart] = charts.values()
        self.assertIn("<c:barChart>", chart)
        self.assertIn("'Revenue by segment'!$C$2", chart)

    def test_cohort_workbook(self):
        sheets, charts = self.export("cohort", "2026-01-01", "2026-03-31")
        retention = sheets["Retention"]
        self.assertEqual(
            (retention["A2"], retention["B2"], retention["C2"], retention["D2"]), ("2026-01", 1.0, 1.0, 1.0)
        )
        self.assertEqual(retention["E2"], 0.0)
        self.assertEqual(
            (retention["A3"], retention["B3"], retention["C3"], retention["D3"]), ("2026-02", 1.0, 1.0, 1.0)
        )
        revenue = sheets["Revenue per customer"]
        self.assertEqual((revenue["C2"], revenue["D2"], revenue["C3"], revenue["D3"]), (100.0, 50.0, 200.0, 40.0))
        [chart] = charts.values()
        self.assertIn("<c:lineChart>", chart)

    def test_trend_workbook(self):
        sheets, charts = self.export("trend", "2026-01-01", "2026-03-31", grain="month", horizon=2)
        sheet = sheets["Trend and forecast"]
        self.assertEqual(
            [(sheet[f"A{r}"], sheet[f"B{r}"], sheet[f"C{r}"]) for r in (2, 3, 4)],
            [("2026-01-01", 1.0, 100.0), ("2026-02-01", 2.0, 250.0), ("2026-03-01", 1.0, 40.0)],
        )
        self.assertTrue(any(v == "Backtest error (MAPE), revenue" for v in sheet.values()))
        [chart] = charts.values()
        self.assertIn("<c:lineChart>", chart)

    def test_wizard_offers_the_file(self):
        form = Form(self.Export.with_context(default_analysis="cohort"))
        form.date_from = "2026-01-01"
        form.date_to = "2026-03-31"
        wizard = form.save()
        wizard.action_export()
        self.assertEqual(wizard.file_name, "cohort-2026-01-01-2026-03-31.xlsx")
        sheets, _charts = read_xlsx(base64.b64decode(wizard.file_data))
        self.assertEqual(sheets["Retention"]["A2"], "2026-01")

    def test_bad_dates_refused(self):
        with self.assertRaisesRegex(UserError, "after the end date"):
            self.Export.export_xlsx("kpi", "2026-03-01", "2026-01-01")
