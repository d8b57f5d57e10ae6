# The privacy code of customers is kept apart from res_partner.py, to be read and reviewed as one.
# pylint: disable=consider-merging-classes-inherited
from odoo import fields, models

from odoo.addons.ecrm_segments.models.privacy_tools import export_rows, set_columns

CARD_FIELDS = ["code", "program_id", "points", "ecrm_pending_points", "expiration_date", "active"]
LEDGER_FIELDS = [
    "date",
    "kind",
    "card_id",
    "program_id",
    "points",
    "pending_points",
    "value",
    "currency_id",
    "expiry_date",
    "order_id",
    "move_id",
    "reason",
]
LOT_FIELDS = ["card_id", "date", "available_date", "expiry_date", "points", "remaining", "expired_points", "state"]
TIER_HISTORY_FIELDS = ["date", "tier_from_id", "tier_to_id", "direction", "qualifying_amount"]


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Least privilege: the birthday is for the loyalty team (birthday bonus) and eCRM managers;
    # the engines read it in sudo (order confirmation, the birthday campaign trigger in SQL).
    ecrm_birthday = fields.Date(groups="ecrm_loyalty.ecrm_loyalty_group_user,ecrm_segments.ecrm_group_manager")

    def _ecrm_privacy_export_data(self):
        sections = super()._ecrm_privacy_export_data()
        env = self.env
        partners = self._ecrm_privacy_partners()
        cards = env["loyalty.card"].search([("partner_id", "in", partners.ids)], order="id")
        ledger = env["ecrm.loyalty.ledger"].search([("card_id", "in", cards.ids)], order="date, id")
        lots = env["ecrm.loyalty.lot"].search([("card_id", "in", cards.ids)], order="date, id")
        tiers = env["ecrm.loyalty.tier.history"].search([("partner_id", "in", partners.ids)], order="date, id")
        sections.update(
            {
                "loyalty_profile": {
                    "label": env._("Loyalty Profile"),
                    "rows": export_rows(
                        self, ["ecrm_birthday", "ecrm_tier_id", "ecrm_tier_since", "ecrm_tier_grace_until"]
                    ),
                },
                "loyalty_cards": {"label": env._("Loyalty Cards"), "rows": export_rows(cards, CARD_FIELDS)},
                "points_ledger": {"label": env._("Points Ledger"), "rows": export_rows(ledger, LEDGER_FIELDS)},
                "point_lots": {"label": env._("Point Lots"), "rows": export_rows(lots, LOT_FIELDS)},
                "tier_history": {"label": env._("Tier History"), "rows": export_rows(tiers, TIER_HISTORY_FIELDS)},
            }
        )
        return sections

    def _ecrm_privacy_records(self):
        records = super()._ecrm_privacy_records()
        partners = self._ecrm_privacy_partners()
        records["loyalty.card"] = self.env["loyalty.card"].search([("partner_id", "in", partners.ids)]).ids
        return records

    def _ecrm_privacy_erase_data(self, scrubber):
        """The points ledger, its lots and the cards stay as they are (append-only, the
        liability and its accounting depend on them), linked to the anonymised customer;
        only the birthday goes."""
        details = super()._ecrm_privacy_erase_data(scrubber)
        partners = self._ecrm_privacy_partners()
        set_columns(self.env["res.partner"], partners.ids, {"ecrm_birthday": None})
        cards = self.env["loyalty.card"].search([("partner_id", "in", partners.ids)])
        details["loyalty_cards_kept"] = len(cards)
        details["points_ledger_kept"] = self.env["ecrm.loyalty.ledger"].search_count([("card_id", "in", cards.ids)])
        return details
