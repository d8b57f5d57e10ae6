from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyPortal(EcrmLoyaltyCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(
            cls.env, login="loyalty_portal", groups="base.group_portal", partner_id=cls.customer.id
        )
        cls.other = cls.env["res.partner"].create({"name": "Somebody Else"})
        cls.other_card = cls.env["loyalty.card"].create({"program_id": cls.program.id, "partner_id": cls.other.id})

    def test_portal_sees_only_own_card(self):
        self._confirmed_order(qty=2)
        self._confirmed_order(self.other, qty=5)
        Card = self.env["loyalty.card"].with_user(self.portal_user)
        self.assertEqual(Card.search([]), self.card)
        with self.assertRaises(AccessError):
            self.other_card.with_user(self.portal_user).read(["points"])
        Ledger = self.env["ecrm.loyalty.ledger"].with_user(self.portal_user)
        self.assertEqual(Ledger.search([]).card_id, self.card)
        with self.assertRaises(AccessError):
            self.other_card.ecrm_ledger_ids.with_user(self.portal_user).read(["points"])
        with self.assertRaises(AccessError):
            self.card.with_user(self.portal_user).write({"points": 1000})

    def test_portal_page(self):
        self.program.ecrm_expiring_notice_days = 400
        self._confirmed_order(qty=2)
        self._confirmed_order(self.other, qty=7)
        self.authenticate("loyalty_portal", "loyalty_portal")
        response = self.url_open("/my/ecrm_loyalty")
        self.assertEqual(response.status_code, 200)
        page = response.text
        self.assertIn(self.card.code, page)
        self.assertIn("o_ecrm_loyalty_balance", page)
        self.assertIn("200.0", page)
        self.assertIn("Points about to expire", page)
        self.assertNotIn(self.other_card.code, page)
        self.assertNotIn("700.0", page)
