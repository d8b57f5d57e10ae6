from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import EcrmHelpdeskCase


@tagged("post_install", "-at_install", "ecrm")
class TestHelpdeskSecurity(EcrmHelpdeskCase):
    def test_group_ladder(self):
        """Manager implies team lead implies agent, who is an eCRM user (sees the eCRM app)."""
        self.assertTrue(self.helpdesk_manager.has_group("ecrm_helpdesk.ecrm_helpdesk_group_team_lead"))
        self.assertTrue(self.helpdesk_manager.has_group("ecrm_helpdesk.ecrm_helpdesk_group_user"))
        self.assertTrue(self.team_lead.has_group("ecrm_helpdesk.ecrm_helpdesk_group_user"))
        self.assertFalse(self.team_lead.has_group("ecrm_helpdesk.ecrm_helpdesk_group_manager"))
        self.assertTrue(self.helpdesk_user.has_group("ecrm_segments.ecrm_group_user"))
        self.assertFalse(self.helpdesk_user.has_group("ecrm_helpdesk.ecrm_helpdesk_group_manager"))
        self.assertFalse(self.ecrm_user.has_group("ecrm_helpdesk.ecrm_helpdesk_group_user"))

    def test_agents_see_their_teams_tickets(self):
        mine = self._create_ticket(name="Team ticket")
        other = self._create_ticket(name="Other team ticket", team_id=self.team_other.id)
        assigned = self._create_ticket(
            name="Assigned across teams", team_id=self.team_other.id, user_id=self.agent_1.id
        )
        Ticket = self.env["ecrm.helpdesk.ticket"]
        all_tickets = mine | other | assigned
        self.assertEqual(Ticket.with_user(self.agent_1).search([("id", "in", all_tickets.ids)]), mine | assigned)
        self.assertEqual(Ticket.with_user(self.agent_other).search([("id", "in", all_tickets.ids)]), other | assigned)
        self.assertEqual(Ticket.with_user(self.team_lead).search([("id", "in", all_tickets.ids)]), all_tickets)
        with self.assertRaises(AccessError):
            other.with_user(self.agent_1).write({"priority": "3"})
        self.assertEqual(other.priority, "0")
        with self.assertRaises(AccessError):
            mine.with_user(self.agent_1).unlink()
        # an agent cannot see other teams' tickets in the analysis either
        Report = self.env["ecrm.helpdesk.ticket.report"].with_user(self.agent_1)
        self.assertEqual(Report.search([("ticket_id", "in", all_tickets.ids)]).ticket_id, mine | assigned)

    def test_configuration_is_for_managers(self):
        sla = self.env["ecrm.helpdesk.sla"].create({"name": "Check", "response_hours": 2})
        with self.assertRaises(AccessError):
            sla.with_user(self.agent_1).write({"response_hours": 20})
        with self.assertRaises(AccessError):
            self.env["ecrm.helpdesk.stage"].with_user(self.team_lead).create(
                {"name": "Lead stage", "team_id": self.team.id}
            )
        with self.assertRaises(AccessError):
            self.env["ecrm.helpdesk.team"].with_user(self.agent_1).create({"name": "Agent team"})
        sla.with_user(self.helpdesk_manager).write({"response_hours": 3})
        self.assertEqual(sla.response_hours, 3)
        self.team.with_user(self.team_lead).write({"assignment_method": "round_robin"})
        self.assertEqual(self.team.assignment_method, "round_robin")

    def test_multi_company(self):
        company_2 = self.env["res.company"].create({"name": "Second Shop"})
        self.agent_1.company_ids = [(4, company_2.id)]
        team_2 = self.env["ecrm.helpdesk.team"].create(
            {"name": "Second Support", "company_id": company_2.id, "member_ids": [(6, 0, self.agent_1.ids)]}
        )
        ticket_2 = self.env["ecrm.helpdesk.ticket"].create({"name": "Other company", "team_id": team_2.id})
        self.assertEqual(ticket_2.company_id, company_2)
        Ticket = self.env["ecrm.helpdesk.ticket"].with_user(self.agent_1)
        self.assertFalse(Ticket.with_context(allowed_company_ids=[self.company.id]).search([("id", "=", ticket_2.id)]))
        self.assertEqual(
            Ticket.with_context(allowed_company_ids=[company_2.id, self.company.id]).search([("id", "=", ticket_2.id)]),
            ticket_2,
        )

    def test_menus(self):
        menus = [
            "ecrm_helpdesk.menu_ecrm_helpdesk_tickets",
            "ecrm_helpdesk.menu_ecrm_helpdesk_report_sla",
            "ecrm_helpdesk.menu_ecrm_helpdesk_config_sla",
        ]
        self.assertEqual(
            self.visible_menu_xmlids(self.agent_1, menus),
            {"ecrm_helpdesk.menu_ecrm_helpdesk_tickets", "ecrm_helpdesk.menu_ecrm_helpdesk_report_sla"},
        )
        self.assertEqual(self.visible_menu_xmlids(self.helpdesk_manager, menus), set(menus))
        self.assertFalse(self.visible_menu_xmlids(self.ecrm_user, menus))
