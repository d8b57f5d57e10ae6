from odoo import models


class LoyaltyCardUpdateBalance(models.TransientModel):
    _inherit = "loyalty.card.update.balance"

    def action_update_card_point(self):
        # the wizard's description becomes the reason of the ledger adjustment
        return super(
            LoyaltyCardUpdateBalance,
            self.with_context(ecrm_ledger_reason=self.description),
        ).action_update_card_point()
