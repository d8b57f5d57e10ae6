from odoo.tests import tagged

from odoo.addons.ecrm_segments.tests.privacy_common import find_in_database, read_archive

from .common import EcrmHelpdeskCase


@tagged("post_install", "-at_install")
class TestHelpdeskPrivacy(EcrmHelpdeskCase):
    """Tickets and their messages are exported, then de-identified by an erasure; SLA changes are audited."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.write(
            {"name": "Qiao Wenyuan", "email": "qiao.wenyuan@privacy-test.example", "phone": "+1 202-555-0171"}
        )
        cls.ticket = cls._create_ticket(
            name="Qiao Wenyuan: broken zip",
            description="<p>Hello, I am Qiao Wenyuan, call me on +1 202-555-0171 or qiao.wenyuan@privacy-test.example.</p>",
        )
        cls.ticket.message_post(
            body="My parcel was opened. Qiao Wenyuan",
            message_type="comment",
            author_id=cls.customer.id,
            subtype_xmlid="mail.mt_comment",
        )
        cls.ticket.with_user(cls.agent_1).message_post(
            body="Dear Qiao Wenyuan, we send a new zip to qiao.wenyuan@privacy-test.example today.",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        cls.ticket.user_id = cls.agent_1
        cls.ticket.action_close()  # asks the customer for a rating, which comes back low
        rating = cls.env["rating.rating"].search([("res_model", "=", cls.ticket._name), ("res_id", "=", cls.ticket.id)])
        cls.ticket.sudo().rating_apply(2, token=rating.access_token, feedback="Slow answer, Qiao Wenyuan")
        # a ticket written from the customer's address before they were a known contact
        cls.email_ticket = cls._create_ticket(
            name="Question", partner_id=False, partner_email="qiao.wenyuan@privacy-test.example"
        )

    def test_export_has_tickets_messages_and_ratings(self):
        sections = read_archive(self.customer.with_user(self.ecrm_manager).ecrm_privacy_export()["content"])[0][
            "sections"
        ]
        self.assertEqual(
            sorted(row["number"] for row in sections["tickets"]["rows"]),
            sorted((self.ticket | self.email_ticket).mapped("number")),
        )
        bodies = [row["body"] for row in sections["ticket_messages"]["rows"]]
        self.assertIn("My parcel was opened. Qiao Wenyuan", bodies)
        self.assertTrue(any("we send a new zip" in body for body in bodies))
        [rating] = sections["ticket_ratings"]["rows"]
        self.assertEqual((rating["rating"], rating["feedback"]), (2.0, "Slow answer, Qiao Wenyuan"))

    def test_erasure_de_identifies_tickets(self):
        self.customer.with_user(self.ecrm_manager).ecrm_privacy_erase("Qiao Wenyuan")
        self.env.flush_all()
        self.assertEqual(
            find_in_database(
                self.env.cr, ["Qiao Wenyuan", "qiao.wenyuan@privacy-test.example", "+1 202-555-0171", "+12025550171"]
            ),
            [],
        )
        self.assertTrue(self.ticket.exists() and self.email_ticket.exists(), "the tickets stay for the statistics")
        self.assertEqual(self.ticket.partner_id, self.customer)
        self.assertFalse(self.email_ticket.partner_email)
        self.assertIn("erased", self.ticket.description)
        rating = self.ticket.rating_ids
        self.assertEqual((rating.rating, rating.feedback), (2.0, False))
        self.assertEqual(self.customer_company.name, "Golden Shop Ltd", "the customer's company is not the customer")

    def test_sla_policy_changes_are_audited(self):
        sla = (
            self.env["ecrm.helpdesk.sla"]
            .with_user(self.helpdesk_manager)
            .create({"name": "VIP", "response_hours": 4, "resolution_hours": 24})
        )
        sla.with_user(self.helpdesk_manager).write({"response_hours": 2, "team_ids": [(4, self.team.id)]})
        changes = self.env["ecrm.audit.log"].search(
            [("res_model", "=", "ecrm.helpdesk.sla"), ("res_id", "=", sla.id), ("action", "=", "write")]
        )
        self.assertEqual(
            sorted((c.field_name, c.old_value, c.new_value) for c in changes),
            [("response_hours", "4.0", "2.0"), ("team_ids", "", self.team.name)],
        )
        self.assertEqual(changes.user_id, self.helpdesk_manager)
