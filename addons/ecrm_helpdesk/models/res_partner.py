from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    ecrm_helpdesk_ticket_count = fields.Integer(
        "Tickets", compute="_compute_ecrm_helpdesk_ticket_count", groups="ecrm_helpdesk.ecrm_helpdesk_group_user"
    )

    def _compute_ecrm_helpdesk_ticket_count(self):
        # one grouped query: the tickets of each partner's company (a contact shows its company's tickets)
        groups = self.env["ecrm.helpdesk.ticket"]._read_group(
            [("commercial_partner_id", "in", self.commercial_partner_id.ids)], ["commercial_partner_id"], ["__count"]
        )
        counts = {partner.id: count for partner, count in groups}
        for partner in self:
            partner.ecrm_helpdesk_ticket_count = counts.get(partner.commercial_partner_id.id, 0)

    def action_view_ecrm_helpdesk_tickets(self):
        """The tickets of the customer (and of the other contacts of its company)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_helpdesk.ecrm_helpdesk_ticket_action")
        action["domain"] = [("commercial_partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.id}
        return action
