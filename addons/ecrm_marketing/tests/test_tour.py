from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install", "ecrm")
class TestMarketingTour(HttpCase):
    def test_build_and_activate_campaign(self):
        """A manager builds a two-step campaign in the UI and activates it."""
        self.start_tour("/odoo", "ecrm_marketing_campaign_tour", login="admin")
        campaign = self.env["ecrm.campaign"].search([("name", "=", "Tour welcome flow")])
        self.assertEqual(campaign.state, "running")
        steps = campaign.step_ids.sorted("sequence")
        self.assertEqual(steps.mapped("name"), ["Welcome", "Win-back"])
        self.assertEqual(steps.mapped("delay"), [0, 3])
        self.assertEqual(steps[0].mail_template_id, self.env.ref("ecrm_marketing.mail_template_welcome"))
        self.assertTrue(all(steps.mapped("mailing_id")))
