from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    ecrm_helpdesk_ticket_ids = fields.Many2many(
        "ecrm.helpdesk.ticket",
        "ecrm_helpdesk_ticket_sale_order_rel",
        "order_id",
        "ticket_id",
        string="Helpdesk Tickets",
        copy=False,
        groups="ecrm_helpdesk.ecrm_helpdesk_group_user",
    )
    ecrm_helpdesk_ticket_count = fields.Integer(
        "Tickets", compute="_compute_ecrm_helpdesk_ticket_count", groups="ecrm_helpdesk.ecrm_helpdesk_group_user"
    )

    def _compute_ecrm_helpdesk_ticket_count(self):
        for order in self:
            order.ecrm_helpdesk_ticket_count = len(order.ecrm_helpdesk_ticket_ids)

    def action_view_ecrm_helpdesk_tickets(self):
        """The tickets about this order; creating one from there links it to the order."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_helpdesk.ecrm_helpdesk_ticket_action")
        action["domain"] = [("sale_order_ids", "in", self.ids)]
        action["context"] = {
            "default_partner_id": self.partner_id.id,
            "default_sale_order_ids": [(6, 0, self.ids)],
            "default_product_ids": [(6, 0, self.order_line.product_id.ids)],
        }
        return action
