from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from .common import EcrmHelpdeskCase


@tagged("post_install", "-at_install", "ecrm")
class TestTicket(EcrmHelpdeskCase):
    def test_create_numbers_stages_and_defaults(self):
        tickets = self.env["ecrm.helpdesk.ticket"].create(
            [
                {
                    "name": "Late parcel",
                    "team_id": self.team.id,
                    "partner_id": self.customer.id,
                },
                {
                    "name": "Wrong size",
                    "team_id": self.team.id,
                    "partner_email": "anon@example.com",
                },
            ]
        )
        first, second = tickets
        self.assertTrue(first.number.startswith("TK"))
        self.assertNotEqual(first.number, second.number)
        self.assertEqual(tickets.stage_id, self.stage_new)
        self.assertEqual(first.partner_email, "li.na@example.com")
        self.assertEqual(first.commercial_partner_id, self.customer_company)
        self.assertEqual(first.company_id, self.team.company_id)
        self.assertIn(first.number, first.display_name)
        self.assertIn(
            self.customer.id,
            first.message_partner_ids.ids,
            "the customer follows the ticket",
        )
        self.assertFalse(first.is_closed)

    def test_team_gets_default_pipeline(self):
        stages = self.team.stage_ids
        self.assertEqual(len(stages), 5)
        self.assertEqual(len(stages.filtered("is_closed")), 2)
        self.assertTrue(all(stage.fold for stage in stages.filtered("is_closed")))

    def test_closed_stage_without_team_refused(self):
        count = self.env["ecrm.helpdesk.stage"].search_count([])
        with self.assertRefused(ValidationError, "must belong to a team"):
            self.env["ecrm.helpdesk.stage"].create({"name": "Done everywhere", "is_closed": True})
        self.assertEqual(self.env["ecrm.helpdesk.stage"].search_count([]), count)
        shared = self.env["ecrm.helpdesk.stage"].create({"name": "Triage", "sequence": 0})
        self.assertFalse(shared.team_id)
        with self.assertRefused(ValidationError, "must belong to a team"):
            shared.write({"is_closed": True})
        self.assertFalse(shared.is_closed)
        with self.assertRefused(ValidationError, "must belong to a team"):
            self.stage_solved.write({"team_id": False})
        self.assertEqual(self.stage_solved.team_id, self.team)

    def test_close_and_reopen(self):
        ticket = self._create_ticket()
        ticket.action_close()
        self.assertEqual(ticket.stage_id, self.stage_solved)
        self.assertTrue(ticket.is_closed)
        self.assertTrue(ticket.close_date)
        ticket.stage_id = self.stage_new
        self.assertFalse(ticket.is_closed)
        self.assertFalse(ticket.close_date)
        with self.assertRefused(UserError, "not a closed stage"):
            ticket.action_close(stage_id=self.stage_new.id)
        self.assertEqual(ticket.stage_id, self.stage_new)

    def test_change_team_restarts_in_its_pipeline(self):
        ticket = self._create_ticket()
        ticket.write({"team_id": self.team_other.id, "priority": "2"})
        self.assertEqual(ticket.priority, "2")
        self.assertEqual(ticket.stage_id.team_id, self.team_other)
        self.assertEqual(ticket.stage_id, self.team_other._get_first_stage())

    def test_form_and_views(self):
        with Form(self.env["ecrm.helpdesk.ticket"].with_user(self.agent_1)) as form:
            form.name = "Where is my parcel?"
            form.team_id = self.team
            form.partner_id = self.customer
            self.assertEqual(form.partner_email, "li.na@example.com")
        ticket = form.record
        self.assertEqual(ticket.channel, "phone")
        for view_type in (
            "list",
            "kanban",
            "form",
            "search",
            "graph",
            "pivot",
            "activity",
        ):
            self.env["ecrm.helpdesk.ticket"].get_view(view_type=view_type)
        self.assertIn(
            ticket,
            self.env["ecrm.helpdesk.ticket"].search([("number", "=", ticket.number)]),
        )

    def test_canned_answer_is_first_response(self):
        ticket = self._create_ticket()
        template = self.env.ref("ecrm_helpdesk.mail_template_canned_received")
        messages = ticket.with_user(self.agent_1).message_post_canned_answer(template.id)
        self.assertIn(ticket.number, messages.body)
        self.assertTrue(ticket.first_response_date)
        other = self.env["mail.template"].search([("model", "!=", "ecrm.helpdesk.ticket")], limit=1)
        with self.assertRaises(UserError):
            ticket.message_post_canned_answer(other.id)

    def test_customer_note_is_not_a_response(self):
        ticket = self._create_ticket()
        ticket.message_post(
            body="I am still waiting",
            author_id=self.customer.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertFalse(ticket.first_response_date)
        ticket.with_user(self.agent_1).message_post(body="Internal note", subtype_xmlid="mail.mt_note")
        self.assertFalse(ticket.first_response_date)
        ticket.with_user(self.agent_1).message_post(
            body="We send a new one",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertTrue(ticket.first_response_date)
        self.assertGreaterEqual(ticket.first_response_hours, 0)

    def test_team_bad_input_refused(self):
        with self.assertRefused(ValidationError, "between 0 and 5"):
            self.team.low_rating_threshold = 7
        self.assertEqual(self.team.low_rating_threshold, 2)
        company_2 = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        with self.assertRefused(ValidationError, "must have access to its company"):
            self.env["ecrm.helpdesk.team"].create(
                {"name": "Foreign", "company_id": company_2.id, "member_ids": [(6, 0, self.agent_1.ids)]}
            )
        self.assertFalse(self.env["ecrm.helpdesk.team"].search([("name", "=", "Foreign")]))
