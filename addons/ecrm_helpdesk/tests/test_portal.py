from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install", "ecrm")
class TestPortal(HttpCase):
    """Customers on /my/tickets: only their own tickets; creating one on their order; the FAQ."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team = cls.env["ecrm.helpdesk.team"].create({"name": "Portal Support"})
        cls.portal_user = new_test_user(
            cls.env,
            login="hd_portal",
            password="hd_portal_pw",
            name="Zhao Lei",
            email="zhao.lei@example.com",
            groups="base.group_portal",
        )
        cls.other_portal = new_test_user(
            cls.env,
            login="hd_portal_2",
            password="hd_portal_2_pw",
            name="Sun Li",
            email="sun.li@example.com",
            groups="base.group_portal",
        )
        cls.product = cls.env["product.product"].create({"name": "Silk Scarf", "type": "consu", "list_price": 30})
        cls.order = cls.env["sale.order"].create(
            {"partner_id": cls.portal_user.partner_id.id, "order_line": [(0, 0, {"product_id": cls.product.id})]}
        )
        cls.order.action_confirm()
        cls.other_order = cls.env["sale.order"].create(
            {"partner_id": cls.other_portal.partner_id.id, "order_line": [(0, 0, {"product_id": cls.product.id})]}
        )
        cls.other_order.action_confirm()
        Ticket = cls.env["ecrm.helpdesk.ticket"]
        cls.own_ticket = Ticket.create(
            {"name": "Scarf colour", "team_id": cls.team.id, "partner_id": cls.portal_user.partner_id.id}
        )
        cls.other_ticket = Ticket.create(
            {"name": "Secret complaint", "team_id": cls.team.id, "partner_id": cls.other_portal.partner_id.id}
        )
        cls.faq = cls.env["ecrm.helpdesk.faq"].create(
            {
                "name": "How do I return a scarf?",
                "answer": "<p>Send it back within 30 days.</p>",
                "keywords": "return refund",
                "is_published": True,
            }
        )
        cls.faq_draft = cls.env["ecrm.helpdesk.faq"].create(
            {"name": "Internal return process", "answer": "<p>Draft</p>", "is_published": False}
        )

    def test_portal_sees_only_own_tickets(self):
        Ticket = self.env["ecrm.helpdesk.ticket"].with_user(self.portal_user)
        self.assertEqual(Ticket.search([]), self.own_ticket)
        self.authenticate("hd_portal", "hd_portal_pw")
        response = self.url_open("/my/tickets")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Scarf colour", response.text)
        self.assertNotIn("Secret complaint", response.text)
        self.assertEqual(self.url_open(f"/my/tickets/{self.own_ticket.id}").status_code, 200)
        response = self.url_open(f"/my/tickets/{self.other_ticket.id}")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn("Secret complaint", response.text)
        # answering someone else's ticket is refused and posts nothing
        messages = len(self.other_ticket.message_ids)
        csrf = self._csrf(self.url_open("/my/tickets/new").text)
        response = self.url_open(
            f"/my/tickets/{self.other_ticket.id}/reply", data={"message": "hi", "csrf_token": csrf}
        )
        self.assertEqual(response.status_code, 404)
        self.assertEqual(len(self.other_ticket.message_ids), messages)

    def test_create_ticket_on_own_order_after_faq(self):
        self.authenticate("hd_portal", "hd_portal_pw")
        page = self.url_open("/my/tickets/new")
        self.assertIn(self.order.name, page.text)
        self.assertNotIn(self.other_order.name, page.text)
        csrf = self._csrf(page.text)
        count = self.env["ecrm.helpdesk.ticket"].search_count([])
        # first submission: the matching FAQ answers are shown, nothing is created yet
        response = self.url_open(
            "/my/tickets/new",
            data={"subject": "return scarf", "order_id": self.order.id, "description": "Too short", "csrf_token": csrf},
        )
        self.assertIn("How do I return a scarf?", response.text)
        self.assertNotIn("Internal return process", response.text)
        self.assertEqual(self.env["ecrm.helpdesk.ticket"].search_count([]), count)
        # someone else's order is refused
        response = self.url_open(
            "/my/tickets/new",
            data={"subject": "return scarf", "order_id": self.other_order.id, "confirm": "1", "csrf_token": csrf},
        )
        self.assertIn("not one of yours", response.text)
        self.assertEqual(self.env["ecrm.helpdesk.ticket"].search_count([]), count)
        # confirmed: the ticket is created on the order
        response = self.url_open(
            "/my/tickets/new",
            data={
                "subject": "return scarf",
                "order_id": self.order.id,
                "description": "Too short",
                "confirm": "1",
                "csrf_token": csrf,
            },
        )
        ticket = self.env["ecrm.helpdesk.ticket"].search([("name", "=", "return scarf")])
        self.assertEqual(len(ticket), 1)
        self.assertTrue(response.url.endswith(f"/my/tickets/{ticket.id}"))
        self.assertEqual(ticket.channel, "portal")
        self.assertEqual(ticket.partner_id, self.portal_user.partner_id)
        self.assertEqual(ticket.sale_order_ids, self.order)
        self.assertEqual(ticket.product_ids, self.product)
        # the customer answers on the ticket page
        response = self.url_open(f"/my/tickets/{ticket.id}/reply", data={"message": "Any news?", "csrf_token": csrf})
        self.assertEqual(response.status_code, 200)
        self.assertIn("Any news?", ticket.message_ids[0].body)
        self.assertEqual(ticket.message_ids[0].author_id, self.portal_user.partner_id)
        self.assertFalse(ticket.first_response_date, "a customer message is not a response")

    def test_public_faq_search(self):
        response = self.url_open("/helpdesk/faq?search=refund")
        self.assertEqual(response.status_code, 200)
        self.assertIn("How do I return a scarf?", response.text)
        self.assertNotIn("Internal return process", response.text)
        response = self.url_open("/helpdesk/faq?search=submarine")
        self.assertNotIn("How do I return a scarf?", response.text)
        self.assertEqual(
            self.env["ecrm.helpdesk.faq"].search_faq("scarf"),
            [{"id": self.faq.id, "name": self.faq.name, "answer": self.faq.answer}],
        )

    def _csrf(self, html):
        marker = 'name="csrf_token" value="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]
