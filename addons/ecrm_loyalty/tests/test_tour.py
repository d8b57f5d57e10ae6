from odoo.tests import HttpCase, new_test_user, tagged

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyLiabilityTour(EcrmLoyaltyCase, HttpCase):
    def test_accountant_downloads_liability_xlsx(self):
        accountant = new_test_user(self.env, login="tour_accountant", groups="account.group_account_readonly")
        self._confirmed_order(qty=3)
        self.start_tour("/odoo", "ecrm_loyalty_liability_tour", login=accountant.login)
        wizard = self.env["ecrm.loyalty.liability"].search([("create_uid", "=", accountant.id)])
        self.assertTrue(wizard.line_ids, "the report was computed in the browser")
