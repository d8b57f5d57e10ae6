from odoo import models


class EcrmSegmentExport(models.TransientModel):
    """A segment's XLSX lists customers' names and emails: every export is in the audit log."""

    _inherit = "ecrm.segment.export"

    def _build_xlsx(self):
        content, count = super()._build_xlsx()
        self.env["ecrm.audit.log"]._ecrm_log(
            [
                {
                    "action": "export",
                    "res_model": "ecrm.segment",
                    "res_id": self.segment_id.id,
                    "note": self.env._("Segment customers (XLSX)"),
                    "new_value": str(count),
                    "company_id": self.company_id.id,
                }
            ]
        )
        return content, count
