from collections import defaultdict

from odoo import api, models


class EcrmLoyaltyLedger(models.Model):
    """Manual point adjustments (and opening balances) are part of the eCRM audit trail."""

    _inherit = "ecrm.loyalty.ledger"

    @api.model
    def _ecrm_write_lines(self, vals_list, bump_cards=True, orm=False):
        lines = super()._ecrm_write_lines(vals_list, bump_cards=bump_cards, orm=orm)
        deltas = defaultdict(float)
        reasons = {}
        for vals in vals_list:
            if vals.get("kind") == "adjust" and vals.get("points"):
                deltas[vals["card_id"]] += vals["points"]
                reasons[vals["card_id"]] = vals.get("reason")
        if deltas:
            # sudo: the balance as the engine left it, whoever adjusted
            cards = self.env["loyalty.card"].sudo().browse(list(deltas))
            self.env["ecrm.audit.log"]._ecrm_log(
                [
                    {
                        "action": "adjust",
                        "res_model": "loyalty.card",
                        "res_id": card.id,
                        "field_name": "points",
                        "old_value": str(round(card.points - deltas[card.id], 2)),
                        "new_value": str(round(card.points, 2)),
                        "note": reasons[card.id],
                        "company_id": (card.company_id or self.env.company).id,
                    }
                    for card in cards
                ]
            )
        return lines
