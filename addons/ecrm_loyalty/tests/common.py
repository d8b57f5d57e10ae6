from unittest.mock import patch

from odoo.fields import Command
from odoo.tests import new_test_user

from odoo.addons.ecrm_segments.tests.common import EcrmCase


class EcrmLoyaltyCase(EcrmCase):
    """Base class of the ecrm_loyalty tests: a loyalty user and a loyalty manager on top of EcrmCase,
    a loyalty program (1 point per currency unit, 1 point = 0.01 of discount), a customer and her card."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loyalty_user = new_test_user(cls.env, login="loyalty_user", groups="ecrm_loyalty.ecrm_loyalty_group_user")
        cls.loyalty_manager = new_test_user(
            cls.env,
            login="loyalty_manager",
            groups="ecrm_loyalty.ecrm_loyalty_group_manager",
        )
        cls.salesman = new_test_user(cls.env, login="loyalty_salesman", groups="sales_team.group_sale_salesman")
        cls.env["loyalty.program"].search([]).write({"active": False})
        # tiers are tested on their own; the other tests run without them
        cls.env["ecrm.loyalty.tier"].search([]).write({"active": False})
        cls.product = cls.env["product.product"].create(
            {
                "name": "Tea Pot",
                "list_price": 100.0,
                "type": "consu",
                "taxes_id": [Command.clear()],
                "invoice_policy": "order",
            }
        )
        cls.program = cls.env["loyalty.program"].create(
            {
                "name": "Tea Club",
                "program_type": "loyalty",
                "trigger": "auto",
                "applies_on": "future",
                "ecrm_point_value": 0.01,
                "ecrm_expiry_months": 12,
                "rule_ids": [Command.create({"reward_point_mode": "money", "reward_point_amount": 1})],
                "reward_ids": [
                    Command.create(
                        {
                            "reward_type": "discount",
                            "discount_mode": "per_point",
                            "discount": 0.01,
                            "discount_applicability": "order",
                            "required_points": 100,
                        }
                    )
                ],
            }
        )
        cls.reward = cls.program.reward_ids
        cls.customer = cls.env["res.partner"].create({"name": "Mei Lin", "email": "mei@example.com"})
        cls.card = cls.env["loyalty.card"].create(
            {"program_id": cls.program.id, "partner_id": cls.customer.id, "points": 0}
        )
        cls.Ledger = cls.env["ecrm.loyalty.ledger"]
        cls.Lot = cls.env["ecrm.loyalty.lot"]

    def _order(self, partner=None, qty=1.0, price=None):
        return self.env["sale.order"].create(
            {
                "partner_id": (partner or self.customer).id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.product.id,
                            "product_uom_qty": qty,
                            "price_unit": price or self.product.list_price,
                        }
                    )
                ],
            }
        )

    def _confirmed_order(self, partner=None, qty=1.0, price=None):
        order = self._order(partner, qty, price)
        order.action_confirm()
        return order

    def _order_with_reward(self, card=None, partner=None, qty=1.0):
        """A draft order spending the card's points (by hundreds) as a discount, the Odoo way."""
        order = self._order(partner, qty)
        order._update_programs_and_rewards()
        result = order._apply_program_reward(self.reward, card or self.card)
        self.assertNotIn("error", result, result)
        return order

    def _give_points(self, points, card=None, reason="Welcome gift"):
        return (card or self.card).ecrm_adjust(points, reason)

    def _invoice(self, order):
        invoice = order._create_invoices()
        invoice.action_post()
        return invoice

    def _refund(self, invoice, quantities=None):
        """Post a credit note of ``invoice``; ``quantities`` maps invoice lines to refunded quantities."""
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id, "reason": "Return"})
        )
        action = wizard.refund_moves()
        refund = self.env["account.move"].browse(action["res_id"])
        if quantities:
            for line in refund.invoice_line_ids:
                qty = quantities.get(line.sale_line_ids.id)
                if qty is not None:
                    line.quantity = qty
        refund.action_post()
        return refund

    def run_cron(self, method, *args, batches=None, **kwargs):
        """Run a cron method with ``_commit_progress`` replaced by a recorder (tests never commit);
        ``batches``: report a timeout after that many processed batches, like a cron out of time.

        :return: the list of ``(processed, remaining)`` progress calls
        """
        calls = []

        def fake_commit_progress(cron, processed=0, *, remaining=None, deactivate=False):
            calls.append((processed, remaining))
            done = sum(1 for p, _r in calls if p)
            return 0.0 if batches is not None and done >= batches else 100.0

        with patch.object(type(self.env["ir.cron"]), "_commit_progress", fake_commit_progress):
            method(*args, **kwargs)
        return calls

    def assertBalanced(self, cards=None):
        self.assertEqual(
            self.Ledger._ecrm_check_balances(cards),
            [],
            "card points must equal the ledger sum",
        )
