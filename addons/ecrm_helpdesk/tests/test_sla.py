from datetime import datetime

from odoo.exceptions import ValidationError
from odoo.tests import freeze_time, tagged

from .common import EcrmHelpdeskCase

# January 2024: Monday 8th, Friday 12th, Saturday 13th, Monday 15th (a holiday below)
MON_16H = datetime(2024, 1, 8, 16, 0)
FRI_15H = datetime(2024, 1, 12, 15, 0)
SAT_10H = datetime(2024, 1, 13, 10, 0)


@tagged("post_install", "-at_install", "ecrm")
class TestSla(EcrmHelpdeskCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vip_tag = cls.env["res.partner.category"].create({"name": "VIP Gold"})
        cls.Sla = cls.env["ecrm.helpdesk.sla"]
        cls.sla_vip = cls.Sla.create(
            {
                "name": "VIP",
                "sequence": 1,
                "partner_tag_ids": [(6, 0, cls.vip_tag.ids)],
                "response_hours": 1,
                "resolution_hours": 8,
                "warning_hours": 0.5,
            }
        )
        cls.sla_standard = cls.Sla.create(
            {
                "name": "Standard",
                "sequence": 50,
                "team_ids": [(6, 0, cls.team.ids)],
                "response_hours": 4,
                "resolution_hours": 16,
                "warning_hours": 1,
                "breach_notify": True,
                "breach_raise_priority": True,
                "breach_user_id": cls.agent_2.id,
            }
        )

    def _ticket_at(self, when, **values):
        return self._create_ticket(date_open=when, user_id=self.agent_1.id, **values)

    def test_deadline_across_night(self):
        ticket = self._ticket_at(MON_16H)
        self.assertEqual(ticket.sla_id, self.sla_standard)
        # 1h on Monday (16-17), 3h on Tuesday from 09:00
        self.assertEqual(ticket.sla_response_deadline, datetime(2024, 1, 9, 12, 0))
        # 16h: 1h Monday, 8h Tuesday, 7h Wednesday
        self.assertEqual(ticket.sla_resolution_deadline, datetime(2024, 1, 10, 16, 0))
        self.assertEqual(ticket.sla_response_warning_date, datetime(2024, 1, 9, 11, 0))

    def test_deadline_across_weekend_and_holiday(self):
        ticket = self._ticket_at(FRI_15H)
        self.assertEqual(
            ticket.sla_response_deadline,
            datetime(2024, 1, 15, 11, 0),
            "2h Friday, 2h Monday",
        )
        weekend_ticket = self._ticket_at(SAT_10H)
        self.assertEqual(weekend_ticket.sla_response_deadline, datetime(2024, 1, 15, 13, 0))
        # Monday 15th becomes a public holiday of the team's calendar: deadlines move to Tuesday
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Holiday",
                "calendar_id": self.calendar.id,
                "date_from": datetime(2024, 1, 15, 0, 0),
                "date_to": datetime(2024, 1, 15, 23, 59, 59),
            }
        )
        holiday_ticket = self._ticket_at(FRI_15H)
        self.assertEqual(holiday_ticket.sla_response_deadline, datetime(2024, 1, 16, 11, 0))

    def test_vip_tag_and_segment_get_tighter_targets(self):
        self.customer_company.category_id = [(4, self.vip_tag.id)]
        vip_ticket = self._ticket_at(MON_16H)
        self.assertEqual(vip_ticket.sla_id, self.sla_vip, "the tag of the customer's company counts")
        self.assertEqual(vip_ticket.sla_response_deadline, datetime(2024, 1, 8, 17, 0))
        segment = self.env["ecrm.segment"].create({"name": "Champions", "code": "test_champions"})
        sla_segment = self.Sla.create(
            {
                "name": "Champions",
                "sequence": 2,
                "segment_ids": [(6, 0, segment.ids)],
                "response_hours": 2,
            }
        )
        self.env["ecrm.segment.history"].create({"partner_id": self.customer_2.id, "segment_to_id": segment.id})
        champion_ticket = self._ticket_at(MON_16H, partner_id=self.customer_2.id)
        self.assertEqual(champion_ticket.sla_id, sla_segment)
        plain = self._ticket_at(MON_16H, partner_id=self.customer_2.id, team_id=self.team_other.id)
        self.assertEqual(plain.sla_id, sla_segment)
        # leaving the segment: the standard policy applies to new tickets
        self.env["ecrm.segment.history"].create({"partner_id": self.customer_2.id, "segment_from_id": segment.id})
        later = self._ticket_at(MON_16H, partner_id=self.customer_2.id)
        self.assertEqual(later.sla_id, self.sla_standard)

    def test_priority_and_type_criteria(self):
        complaint = self.env.ref("ecrm_helpdesk.ecrm_helpdesk_type_complaint")
        sla_urgent = self.Sla.create(
            {
                "name": "Urgent complaints",
                "sequence": 3,
                "priority": "2",
                "type_ids": [(6, 0, complaint.ids)],
                "response_hours": 0.5,
            }
        )
        self.assertEqual(
            self._ticket_at(MON_16H, priority="3", type_id=complaint.id).sla_id,
            sla_urgent,
        )
        self.assertEqual(
            self._ticket_at(MON_16H, priority="1", type_id=complaint.id).sla_id,
            self.sla_standard,
        )
        low = self._ticket_at(MON_16H, priority="0", type_id=complaint.id)
        low.priority = "2"
        self.assertEqual(low.sla_id, sla_urgent, "raising the priority re-matches the policy")

    def test_negative_or_missing_targets_refused(self):
        count = self.Sla.search_count([])
        with self.assertRefused(ValidationError, "cannot be negative"):
            self.Sla.create({"name": "Bad", "response_hours": -2, "resolution_hours": 8})
        with self.assertRefused(ValidationError, "cannot be negative"):
            self.Sla.create({"name": "Bad warning", "response_hours": 2, "warning_hours": -1})
        with self.assertRefused(ValidationError, "needs a first-response or a resolution target"):
            self.Sla.create({"name": "Empty"})
        self.assertEqual(self.Sla.search_count([]), count)
        with self.assertRefused(ValidationError, "cannot be negative"):
            self.sla_standard.write({"resolution_hours": -1})
        self.assertEqual(self.sla_standard.resolution_hours, 16)

    def test_status_met_running_failed(self):
        with freeze_time(datetime(2024, 1, 9, 10, 0)):
            met = self._ticket_at(MON_16H)
            met.with_user(self.agent_1).message_post(
                body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            self.assertEqual(met.sla_response_status, "met")
            self.assertEqual(met.sla_resolution_status, "running")
            self.assertEqual(met.sla_status, "running")
            self.assertEqual(met.sla_deadline, datetime(2024, 1, 10, 16, 0))
            met.action_close()
            self.assertEqual(met.sla_status, "met")
            self.assertFalse(met.sla_next_action_date)
        with freeze_time(datetime(2024, 1, 9, 13, 0)):
            late = self._ticket_at(MON_16H)
            self.assertEqual(late.sla_response_status, "failed", "created after its own deadline")
            late.with_user(self.agent_1).message_post(
                body="Sorry", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            self.assertEqual(late.sla_response_status, "failed", "answered after the deadline")
            self.assertEqual(late.sla_status, "failed")

    def _run_cron(self):
        with self.enter_registry_test_mode():
            self.assertIs(self.env.ref("ecrm_helpdesk.ir_cron_ecrm_helpdesk_sla").method_direct_trigger(), True)

    def _activities(self, ticket):
        return self.env["mail.activity"].search([("res_model", "=", ticket._name), ("res_id", "=", ticket.id)])

    def test_escalation_warns_then_escalates_once(self):
        ticket = self._ticket_at(MON_16H, priority="1")
        untouched = self._ticket_at(MON_16H, priority="1")
        untouched.with_user(self.agent_1).message_post(
            body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        untouched_messages = len(untouched.message_ids)
        # Tuesday 10:30: before the warning (11:00)
        with freeze_time(datetime(2024, 1, 9, 10, 30)):
            self._run_cron()
        self.assertFalse(ticket.sla_response_warned)
        self.assertFalse(self._activities(ticket))
        # Tuesday 11:15: warning, once
        with freeze_time(datetime(2024, 1, 9, 11, 15)):
            self._run_cron()
            self._run_cron()
        self.assertTrue(ticket.sla_response_warned)
        self.assertFalse(ticket.sla_response_breached)
        warnings = self._activities(ticket)
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings.user_id, self.agent_1)
        self.assertEqual(ticket.sla_response_status, "running")
        self.assertTrue(ticket.message_ids.filtered(lambda m: "is due on" in (m.body or "")))
        # Tuesday 12:30: breach, escalated once: priority raised, reassigned, team lead notified
        with freeze_time(datetime(2024, 1, 9, 12, 30)):
            self._run_cron()
            self._run_cron()
        self.assertTrue(ticket.sla_response_breached)
        self.assertEqual(ticket.sla_response_status, "failed")
        self.assertEqual(ticket.sla_status, "failed")
        self.assertEqual(ticket.priority, "2")
        self.assertEqual(ticket.user_id, self.agent_2)
        self.assertEqual(
            ticket.sla_id,
            self.sla_standard,
            "the policy is kept when the priority is raised",
        )
        activities = self._activities(ticket) - warnings
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.team_lead)
        self.assertTrue(ticket.message_ids.filtered(lambda m: "breached" in (m.body or "")))
        # the answered ticket got no response warning or breach
        self.assertFalse(untouched.sla_response_breached)
        self.assertEqual(len(untouched.message_ids), untouched_messages)
        self.assertEqual(untouched.priority, "1")
        # next action: the resolution warning on Wednesday 15:00
        self.assertEqual(ticket.sla_next_action_date, datetime(2024, 1, 10, 15, 0))

    def test_escalation_batches_resume(self):
        tickets = self.env["ecrm.helpdesk.ticket"].create(
            [{"name": f"T{i}", "team_id": self.team.id, "date_open": MON_16H} for i in range(5)]
        )
        Ticket = self.env["ecrm.helpdesk.ticket"]
        with freeze_time(datetime(2024, 1, 9, 12, 30)):
            todo = Ticket.search(Ticket._sla_todo_domain())
            self.assertEqual(todo & tickets, tickets)
            # a first batch is handled, then the job stops (crash, timeout): the rest remains to do
            result = tickets[:2]._sla_escalate()
            self.assertEqual(set(result["breached"]), set(tickets[:2].ids))
            self.assertEqual(Ticket.search(Ticket._sla_todo_domain()) & tickets, tickets[2:])
            self._run_cron()
            self.assertFalse(Ticket.search(Ticket._sla_todo_domain()) & tickets)
        self.assertTrue(all(tickets.mapped("sla_response_breached")))
        self.assertEqual(set(tickets.mapped("priority")), {"1"})

    def test_compliance_report(self):
        with freeze_time(datetime(2024, 1, 9, 10, 0)):
            met = self._ticket_at(MON_16H)
            met.with_user(self.agent_1).message_post(
                body="Answer", message_type="comment", subtype_xmlid="mail.mt_comment"
            )
            met.action_close()
        with freeze_time(datetime(2024, 1, 12, 10, 0)):
            failed = self._ticket_at(MON_16H)
            failed.action_close()
        self.env.flush_all()
        Report = self.env["ecrm.helpdesk.ticket.report"]
        groups = Report._read_group(
            [("ticket_id", "in", (met | failed).ids)],
            ["team_id", "user_id"],
            [
                "sla_met_count:sum",
                "sla_failed_count:sum",
                "sla_compliance:avg",
                "ticket_count:sum",
            ],
        )
        self.assertEqual(groups, [(self.team, self.agent_1, 1, 1, 50.0, 2)])
        for view_type in ("graph", "pivot", "list", "search"):
            Report.get_view(view_type=view_type)
