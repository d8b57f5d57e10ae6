from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install", "ecrm")
class TestHelpdeskTours(HttpCase):
    """A portal customer opens a ticket on one of their orders; an agent answers and closes it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env,
            login="hd_tour_agent",
            password="hd_tour_agent_pw",
            name="Tour Agent",
            email="tour.agent@example.com",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_user",
        )
        cls.team = cls.env["ecrm.helpdesk.team"].create(
            {
                "name": "Tour Support",
                "sequence": 0,
                "member_ids": [(6, 0, cls.agent.ids)],
                "assignment_method": "round_robin",
            }
        )
        cls.customer = new_test_user(
            cls.env,
            login="hd_tour_customer",
            password="hd_tour_customer_pw",
            name="Chen Jie",
            email="chen.jie@example.com",
            groups="base.group_portal",
        )
        product = cls.env["product.product"].create({"name": "Silk Scarf", "type": "consu", "list_price": 30})
        cls.order = cls.env["sale.order"].create(
            {"partner_id": cls.customer.partner_id.id, "order_line": [(0, 0, {"product_id": product.id})]}
        )
        cls.order.action_confirm()
        cls.env["ecrm.helpdesk.faq"].create(
            {"name": "How do I return a scarf?", "answer": "<p>Within 30 days.</p>", "is_published": True}
        )

    def test_portal_ticket_then_agent_answer(self):
        self.assertTrue(self.order.name.startswith("S0"))
        self.start_tour(
            f"/my/tickets/new?order_id={self.order.id}", "ecrm_helpdesk_portal_ticket_tour", login="hd_tour_customer"
        )
        ticket = self.env["ecrm.helpdesk.ticket"].search([("name", "=", "My scarf is torn")])
        self.assertEqual(len(ticket), 1)
        self.assertEqual(ticket.sale_order_ids, self.order)
        self.assertEqual(ticket.channel, "portal")
        self.assertEqual(ticket.team_id, self.team)
        self.assertEqual(ticket.user_id, self.agent)

        self.start_tour(f"/odoo/ecrm-tickets/{ticket.id}", "ecrm_helpdesk_agent_answer_tour", login="hd_tour_agent")
        self.assertTrue(ticket.is_closed)
        self.assertTrue(ticket.first_response_date)
        self.assertTrue(
            self.env["rating.rating"].search([("res_model", "=", ticket._name), ("res_id", "=", ticket.id)]),
            "closing asked the customer for a rating",
        )
