from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.ecrm_segments.tests.privacy_common import find_in_database, read_archive

from .common import EcrmLoyaltyCase


@tagged("post_install", "-at_install")
class TestLoyaltyPrivacy(EcrmLoyaltyCase):
    """Birthday restricted, points export, erasure keeps the ledger, adjustments and tier changes audited."""

    def test_birthday_is_for_loyalty_users_and_managers(self):
        self.customer.ecrm_birthday = "1990-05-17"
        self.assertEqual(str(self.customer.with_user(self.loyalty_user).ecrm_birthday), "1990-05-17")
        self.assertEqual(str(self.customer.with_user(self.ecrm_manager).ecrm_birthday), "1990-05-17")
        for user in (self.ecrm_user, self.salesman):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.customer.with_user(user).read(["ecrm_birthday"])
        # the birthday bonus still applies when a salesman confirms the order
        self.program.ecrm_birthday_bonus = 50
        self.env.cr.execute(
            "UPDATE res_partner SET ecrm_birthday = date_trunc('month', now()) WHERE id = %s", [self.customer.id]
        )
        self.customer.invalidate_recordset(["ecrm_birthday"])
        order = self._order()
        order.user_id = self.salesman
        order.with_user(self.salesman).action_confirm()
        earn = self.Ledger.search([("order_id", "=", order.id), ("kind", "=", "earn")])
        self.assertEqual(earn.points, 150.0)

    def test_export_has_cards_ledger_lots_and_tiers(self):
        self.customer.ecrm_birthday = "1990-05-17"
        self._give_points(200, reason="Welcome gift")
        self._confirmed_order()
        sections = read_archive(self.customer.with_user(self.ecrm_manager).ecrm_privacy_export()["content"])[0][
            "sections"
        ]
        [card] = sections["loyalty_cards"]["rows"]
        self.assertEqual((card["code"], card["points"]), (self.card.code, self.card.points))
        self.assertEqual(sorted(row["kind"] for row in sections["points_ledger"]["rows"]), ["Adjustment", "Earn"])
        self.assertEqual(len(sections["point_lots"]["rows"]), 2)
        self.assertEqual(sections["loyalty_profile"]["rows"][0]["ecrm_birthday"], "1990-05-17")
        self.assertIn("tier_history", sections)

    def test_erasure_keeps_the_ledger_linked_to_the_anonymised_customer(self):
        self.customer.write({"ecrm_birthday": "1990-05-17", "phone": "+1 202-555-0164"})
        self._give_points(200, reason="Welcome gift")
        self._confirmed_order()
        lines = self.Ledger.search([("card_id", "=", self.card.id)])
        balance = self.card.points
        self.customer.with_user(self.ecrm_manager).ecrm_privacy_erase("Mei Lin")
        self.env.flush_all()
        self.assertEqual(
            find_in_database(self.env.cr, ["Mei Lin", "mei@example.com", "+1 202-555-0164", "+12025550164"]), []
        )
        self.assertEqual(self.Ledger.search([("card_id", "=", self.card.id)]), lines, "no line deleted nor added")
        self.assertEqual(lines.partner_id, self.customer)
        self.assertEqual(self.card.points, balance)
        self.assertFalse(self.customer.sudo().ecrm_birthday)
        self.assertBalanced()

    def test_adjustments_and_tier_changes_are_audited(self):
        Audit = self.env["ecrm.audit.log"]
        self._give_points(120, reason="Goodwill for a late parcel")
        self.card.with_user(self.loyalty_manager).ecrm_adjust(-20, "Correction")
        entries = Audit.search([("res_model", "=", "loyalty.card"), ("res_id", "=", self.card.id)], order="id")
        self.assertEqual(
            [(e.action, e.old_value, e.new_value, e.note) for e in entries],
            [("adjust", "0.0", "120.0", "Goodwill for a late parcel"), ("adjust", "120.0", "100.0", "Correction")],
        )
        self.assertEqual(entries[1].user_id, self.loyalty_manager)
        self.env.company.write({"ecrm_tier_basis": "spend", "ecrm_tier_window_days": 365})
        gold = self.env["ecrm.loyalty.tier"].create({"name": "Gold Test", "threshold": 50, "multiplier": 2})
        gold.with_user(self.loyalty_manager).threshold = 80
        [change] = Audit.search(
            [("res_model", "=", "ecrm.loyalty.tier"), ("res_id", "=", gold.id), ("action", "=", "write")]
        )
        self.assertEqual((change.old_value, change.new_value), ("50.0", "80.0"))
        self._confirmed_order()  # 100 spent: the customer reaches Gold Test
        [tier] = Audit.search([("action", "=", "tier"), ("res_id", "=", self.customer.id)])
        self.assertEqual(
            (tier.field_name, tier.old_value, tier.new_value, tier.note), ("ecrm_tier_id", "", "Gold Test", "up")
        )
