from odoo.http import request, route

from odoo.addons.portal.controllers.portal import CustomerPortal


class EcrmLoyaltyPortal(CustomerPortal):
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "ecrm_loyalty_count" in counters:
            Card = request.env["loyalty.card"]
            values["ecrm_loyalty_count"] = (
                Card.search_count(self._ecrm_loyalty_domain()) if Card.has_access("read") else 0
            )
        return values

    def _ecrm_loyalty_domain(self):
        partner = request.env.user.partner_id
        return [
            ("partner_id", "child_of", [partner.commercial_partner_id.id]),
            ("program_id.program_type", "=", "loyalty"),
        ]

    @route(["/my/ecrm_loyalty"], type="http", auth="user", website=True)
    def portal_my_ecrm_loyalty(self, **kw):
        # read as the portal user: record rules show only the customer's own cards and lines
        cards = request.env["loyalty.card"].search(self._ecrm_loyalty_domain())
        lines = request.env["ecrm.loyalty.ledger"].search([("card_id", "in", cards.ids)], limit=50)
        today = request.env.company._ecrm_loyalty_today()
        expiring = request.env["ecrm.loyalty.lot"].search(
            [
                ("card_id", "in", cards.ids),
                ("state", "=", "available"),
                ("remaining", ">", 0),
                ("expiry_date", ">=", today),
            ],
            order="expiry_date",
            limit=10,
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "ecrm_loyalty",
                "cards": cards,
                "lines": lines,
                "expiring_lots": expiring,
                "tier": request.env.user.partner_id.commercial_partner_id.ecrm_tier_id,
            }
        )
        return request.render("ecrm_loyalty.portal_my_ecrm_loyalty", values)
