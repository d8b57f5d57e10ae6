import base64

from odoo import fields, models

from ..models.privacy_tools import archive_file_name


class EcrmPrivacyExport(models.TransientModel):
    """Download everything the eCRM addons hold about one customer (right of access and
    portability): a zip with the data as JSON and as an XLSX workbook."""

    _name = "ecrm.privacy.export"
    _description = "Export a Customer's Personal Data"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade")
    file_data = fields.Binary(string="Archive", readonly=True, attachment=False)
    file_name = fields.Char(readonly=True)
    section_count = fields.Integer(string="Sections", readonly=True)
    row_count = fields.Integer(string="Rows", readonly=True)

    def action_export(self):
        """Build the archive (logged in the audit trail) and keep the wizard open with its link."""
        self.ensure_one()
        self.partner_id._ecrm_privacy_check_manager()
        content, sections = self.partner_id._ecrm_privacy_build_archive(channel="back_office")
        self.write(
            {
                "file_data": base64.b64encode(content),
                "file_name": archive_file_name(self.partner_id.id, fields.Date.context_today(self)),
                "section_count": len(sections),
                "row_count": sum(len(section["rows"]) for section in sections.values()),
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Export Personal Data"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }
