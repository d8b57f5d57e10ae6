from contextlib import contextmanager

from odoo.tests import new_test_user

from odoo.addons.ecrm_segments.tests.common import EcrmCase
from odoo.addons.mail.tests.common import MailCase

INCOMING_EMAIL = """Return-Path: {return_path}
X-Original-To: {to}
Delivered-To: {to}
Received: by mail.example.com (Postfix, from userid 10002)
    id 5DF9ABFB2A; Fri, 10 Aug 2012 16:16:39 +0200 (CEST)
From: {email_from}
To: {to}
Cc: {cc}
Subject: {subject}
Message-ID: {msg_id}
Date: Fri, 10 Aug 2012 14:16:26 +0000
{extra}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

My order arrived with a broken zip. What can you do?
"""


class EcrmHelpdeskCase(EcrmCase):
    """Base class of the ecrm_helpdesk tests.

    Users: agents ``agent_1``/``agent_2`` (members of ``team``), ``agent_other`` (member of
    ``team_other``), a team lead, a helpdesk manager; customers ``customer`` (a company
    contact), ``customer_2``; a Monday-Friday 09:00-17:00 UTC calendar for the team.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.helpdesk_user = new_test_user(
            cls.env,
            login="helpdesk_user",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_user",
        )
        cls.helpdesk_manager = new_test_user(
            cls.env,
            login="helpdesk_manager",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_manager",
        )
        cls.agent_1 = new_test_user(
            cls.env,
            login="hd_agent_1",
            name="Agent One",
            email="agent1@example.com",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_user",
        )
        cls.agent_2 = new_test_user(
            cls.env,
            login="hd_agent_2",
            name="Agent Two",
            email="agent2@example.com",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_user",
        )
        cls.agent_other = new_test_user(
            cls.env,
            login="hd_agent_other",
            name="Agent Other",
            email="agent3@example.com",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_user",
        )
        cls.team_lead = new_test_user(
            cls.env,
            login="hd_team_lead",
            name="Team Lead",
            email="lead@example.com",
            groups="ecrm_helpdesk.ecrm_helpdesk_group_team_lead",
        )
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Support 9-17 UTC",
                "tz": "UTC",
                "attendance_ids": [(5, 0, 0)]
                + [
                    (
                        0,
                        0,
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 9,
                            "hour_to": 17,
                            "day_period": "full_day",
                        },
                    )
                    for day in range(5)
                ],
            }
        )
        cls.team = cls.env["ecrm.helpdesk.team"].create(
            {
                "name": "Test Support",
                "alias_name": "test-support",
                "member_ids": [(6, 0, [cls.agent_1.id, cls.agent_2.id])],
                "leader_id": cls.team_lead.id,
                "resource_calendar_id": cls.calendar.id,
            }
        )
        cls.team_other = cls.env["ecrm.helpdesk.team"].create(
            {"name": "Other Support", "member_ids": [(6, 0, [cls.agent_other.id])]}
        )
        cls.stage_new = cls.team.stage_ids.sorted("sequence")[0]
        cls.stage_solved = cls.team.stage_ids.filtered(lambda s: s.is_closed).sorted("sequence")[0]
        cls.customer_company = cls.env["res.partner"].create({"name": "Golden Shop Ltd", "is_company": True})
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Li Na",
                "email": "li.na@example.com",
                "parent_id": cls.customer_company.id,
            }
        )
        cls.customer_2 = cls.env["res.partner"].create({"name": "Wang Fang", "email": "wang.fang@example.com"})
        # no SLA of the data file interferes with the tests' own policies
        cls.env["ecrm.helpdesk.sla"].search([]).active = False

    @contextmanager
    def assertRefused(self, exception, regex):
        """Expect ``exception`` with a message matching ``regex``; what the block did is rolled back."""
        with self.assertRaises(exception) as catcher:
            yield catcher
        self.assertRegex(str(catcher.exception), regex)

    @classmethod
    def _create_ticket(cls, **values):
        return cls.env["ecrm.helpdesk.ticket"].create(
            dict(
                {
                    "name": "Broken zip",
                    "team_id": cls.team.id,
                    "partner_id": cls.customer.id,
                },
                **values,
            )
        )


class EcrmHelpdeskMailCase(EcrmHelpdeskCase, MailCase):
    """Helpdesk tests that route incoming email through the mail gateway."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._init_mail_gateway()
        cls.team.alias_id.alias_domain_id = cls.mail_alias_domain
