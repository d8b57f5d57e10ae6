from unittest.mock import patch

from odoo.tests import tagged

from .common import EcrmHelpdeskMailCase


@tagged("post_install", "-at_install", "ecrm")
class TestRating(EcrmHelpdeskMailCase):
    def _close_and_get_token(self, ticket):
        with self.mock_mail_gateway():
            ticket.with_user(self.agent_1).action_close()
            self.env.flush_all()
        rating = self.env["rating.rating"].search([("res_model", "=", ticket._name), ("res_id", "=", ticket.id)])
        self.assertEqual(len(rating), 1)
        return rating

    def test_closing_sends_rating_request(self):
        ticket = self._create_ticket(user_id=self.agent_1.id)
        rating = self._close_and_get_token(ticket)
        self.assertEqual(rating.partner_id, self.customer)
        self.assertEqual(rating.rated_partner_id, self.agent_1.partner_id)
        request = ticket.message_ids.filtered(lambda m: f"/rate/{rating.access_token}/5" in (m.body or ""))
        self.assertEqual(len(request), 1)
        self.assertIn(self.customer, request.notified_partner_ids | request.partner_ids)
        # a team that does not ask for ratings
        self.team.use_rating = False
        quiet = self._create_ticket(user_id=self.agent_1.id)
        quiet.action_close()
        self.assertFalse(self.env["rating.rating"].search([("res_model", "=", quiet._name), ("res_id", "=", quiet.id)]))

    def test_low_rating_follow_up_once(self):
        ticket = self._create_ticket(user_id=self.agent_1.id)
        rating = self._close_and_get_token(ticket)
        Partner = type(self.env["res.partner"])
        with patch.object(Partner, "_ecrm_notify_event", autospec=True) as notify:
            ticket.sudo().rating_apply(1, token=rating.access_token)
            # the customer adds feedback on the same rating: no second follow-up
            ticket.sudo().rating_apply(1, token=rating.access_token, feedback="Still broken")
        self.assertEqual(notify.call_count, 1)
        partner, event = notify.call_args.args
        self.assertEqual((partner, event), (self.customer, "helpdesk.low_rating"))
        self.assertEqual(notify.call_args.kwargs, {"ticket": ticket, "rating": rating})
        activities = ticket.activity_ids
        self.assertEqual(len(activities), 1)
        self.assertEqual(activities.user_id, self.team_lead)
        self.assertIn("Low rating", activities.summary)
        self.assertEqual(ticket.rating_last_value, 1)

    def test_good_rating_and_roll_up(self):
        first = self._create_ticket(user_id=self.agent_1.id)
        second = self._create_ticket(user_id=self.agent_1.id)
        third = self._create_ticket(user_id=self.agent_2.id)
        Partner = type(self.env["res.partner"])
        with patch.object(Partner, "_ecrm_notify_event", autospec=True) as notify:
            for ticket, score in ((first, 5), (second, 3), (third, 5)):
                rating = self._close_and_get_token(ticket)
                ticket.sudo().rating_apply(score, token=rating.access_token)
        notify.assert_not_called()
        self.assertFalse(first.activity_ids)
        self.env.invalidate_all()
        self.assertAlmostEqual(self.team.rating_avg_value, 13 / 3, places=2)
        self.assertEqual(self.team.rating_count_value, 3)
        self.assertAlmostEqual(self.agent_1.ecrm_helpdesk_rating_avg, 4.0)
        self.assertEqual(self.agent_1.ecrm_helpdesk_rating_count, 2)
        self.assertAlmostEqual(self.agent_2.ecrm_helpdesk_rating_avg, 5.0)
