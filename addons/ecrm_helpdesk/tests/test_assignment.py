from odoo.tests import tagged

from .common import EcrmHelpdeskCase


@tagged("post_install", "-at_install", "ecrm")
class TestAssignment(EcrmHelpdeskCase):
    def _create_many(self, count, **values):
        return self.env["ecrm.helpdesk.ticket"].create(
            [dict({"name": f"Ticket {index}", "team_id": self.team.id}, **values) for index in range(count)]
        )

    def test_manual_leaves_unassigned(self):
        self.team.assignment_method = "manual"
        tickets = self._create_many(3)
        self.assertFalse(tickets.user_id)
        tickets[0].with_user(self.agent_2).action_assign_to_me()
        self.assertEqual(tickets[0].user_id, self.agent_2)
        self.assertTrue(tickets[0].assign_date)

    def test_round_robin_in_turn_across_batches(self):
        self.team.assignment_method = "round_robin"
        first = self._create_many(3)
        self.assertEqual(first.mapped("user_id"), self.agent_1 | self.agent_2)
        self.assertEqual([t.user_id for t in first], [self.agent_1, self.agent_2, self.agent_1])
        second = self._create_many(1)
        self.assertEqual(second.user_id, self.agent_2, "continues after the last agent picked")

    def test_balanced_by_open_load(self):
        self.team.assignment_method = "manual"
        busy = self._create_many(3, user_id=self.agent_1.id)
        self.team.assignment_method = "balanced"
        new = self._create_many(4)
        self.assertEqual(
            [t.user_id for t in new],
            [self.agent_2, self.agent_2, self.agent_2, self.agent_1],
        )
        # closed tickets do not count as load
        busy.action_close()
        (new[:3]).action_close()
        more = self._create_many(1)
        self.assertEqual(
            more.user_id,
            self.agent_2,
            "agent 2 has no open ticket left, agent 1 has one",
        )

    def test_balanced_load_is_one_query(self):
        self.team.assignment_method = "balanced"
        self._create_many(2)
        self.env.invalidate_all()
        with self.assertQueryCount(4):
            # members (m2m), their active flag, one grouped load query, remembering the last agent
            self.team._get_assignees(50)

    def test_action_assign_unassigned(self):
        self.team.assignment_method = "manual"
        tickets = self._create_many(2)
        self.team.assignment_method = "round_robin"
        tickets.action_assign()
        self.assertEqual(set(tickets.user_id.ids), {self.agent_1.id, self.agent_2.id})

    def test_team_without_agents_stays_unassigned(self):
        self.team.write({"assignment_method": "balanced", "member_ids": [(5, 0, 0)]})
        self.assertFalse(self._create_many(2).user_id)
