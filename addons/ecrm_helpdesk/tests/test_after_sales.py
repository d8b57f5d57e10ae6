from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import EcrmHelpdeskCase


@tagged("post_install", "-at_install", "ecrm")
class TestAfterSales(EcrmHelpdeskCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create(
            {"name": "Travel Bag", "type": "consu", "list_price": 80.0, "invoice_policy": "order"}
        )
        cls.order = cls.env["sale.order"].create(
            {
                "partner_id": cls.customer.id,
                "order_line": [(0, 0, {"product_id": cls.product.id, "product_uom_qty": 1, "price_unit": 80.0})],
            }
        )
        cls.order.action_confirm()

    def test_open_linked_order(self):
        ticket = self._create_ticket(sale_order_ids=[(6, 0, self.order.ids)], product_ids=[(6, 0, self.product.ids)])
        action = ticket.action_open_sale_orders()
        self.assertEqual(action["res_model"], "sale.order")
        self.assertEqual(action["res_id"], self.order.id)

    def test_credit_note_through_posted_invoice(self):
        ticket = self._create_ticket(sale_order_ids=[(6, 0, self.order.ids)])
        with self.assertRefused(UserError, "no posted invoice"):
            ticket.create_credit_note()
        invoice = self.order._create_invoices()
        invoice.action_post()
        action = ticket.action_create_credit_note()
        self.assertEqual(action["res_model"], "account.move.reversal")
        defaults = self.env["account.move.reversal"].with_context(**action["context"]).default_get(["move_ids"])
        self.assertEqual(defaults["move_ids"], [(6, 0, invoice.ids)])
        credit_note = ticket.create_credit_note(reason="Damaged bag")
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.reversed_entry_id, invoice)
        self.assertEqual(credit_note.amount_total, invoice.amount_total)
        self.assertIn(credit_note.display_name, ticket.message_ids[0].body)

    def test_goodwill_hook(self):
        ticket = self._create_ticket()
        self.assertFalse(ticket._ecrm_grant_goodwill(points=100))
        with self.assertRefused(UserError, "No loyalty programme"):
            ticket.action_grant_goodwill(points=100)
        with self.assertRefused(UserError, "cannot be negative"):
            ticket.action_grant_goodwill(points=-5)
        Ticket = type(ticket)
        with patch.object(Ticket, "_ecrm_grant_goodwill", autospec=True, return_value="granted") as hook:
            self.assertEqual(ticket.action_grant_goodwill(points=100), "granted")
        hook.assert_called_once_with(ticket, points=100, reason=ticket.display_name)

    def test_customer_and_order_smart_buttons(self):
        ticket = self._create_ticket(sale_order_ids=[(6, 0, self.order.ids)])
        self._create_ticket(partner_id=self.customer_company.id)
        self._create_ticket(partner_id=self.customer_2.id)
        self.assertEqual(self.customer.ecrm_helpdesk_ticket_count, 2, "a contact shows its company's tickets")
        self.assertEqual(self.customer_2.ecrm_helpdesk_ticket_count, 1)
        self.assertEqual(self.order.ecrm_helpdesk_ticket_ids, ticket)
        action = self.order.action_view_ecrm_helpdesk_tickets()
        self.assertEqual(self.env["ecrm.helpdesk.ticket"].search(action["domain"]), ticket)
        new = self.env["ecrm.helpdesk.ticket"].with_context(**action["context"]).create({"name": "From the order"})
        self.assertEqual(new.sale_order_ids, self.order)
        self.assertEqual(new.product_ids, self.product)
        self.assertEqual(new.partner_id, self.customer)
        action = self.customer.action_view_ecrm_helpdesk_tickets()
        self.assertEqual(len(self.env["ecrm.helpdesk.ticket"].search(action["domain"])), 3)
