from odoo import api, fields, models


class EcrmPrivacyErase(models.TransientModel):
    """Forget a customer (right to erasure): confirm by typing the customer's name."""

    _name = "ecrm.privacy.erase"
    _description = "Erase a Customer's Personal Data"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade")
    partner_name = fields.Char(related="partner_id.name", string="Name to Type")
    confirmation = fields.Char(help="Type the customer's name to confirm: the erasure cannot be undone.")
    order_count = fields.Integer(compute="_compute_counts", string="Orders Kept")
    invoice_count = fields.Integer(compute="_compute_counts", string="Invoices Kept")
    result = fields.Text(readonly=True)

    @api.depends("partner_id")
    def _compute_counts(self):
        for wizard in self:
            # sudo: counts of what the erasure keeps, whatever the manager may read elsewhere
            records = wizard.partner_id.sudo()._ecrm_privacy_records() if wizard.partner_id else {}
            wizard.order_count = len(records.get("sale.order", []))
            wizard.invoice_count = len(records.get("account.move", []))

    def action_erase(self):
        """Erase the customer; the wizard shows what was done."""
        self.ensure_one()
        outcome = self.partner_id.ecrm_privacy_erase(self.confirmation)
        # the typed name goes too
        self.confirmation = False
        self.result = "\n".join(f"{section}: {count}" for section, count in sorted(outcome["details"].items()))
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Customer Erased"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }
