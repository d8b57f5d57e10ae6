from odoo.tools import SQL

# fields read only when a sibling addon defines them on res.partner (first found wins)
TIER_FIELDS = ("ecrm_tier_id", "ecrm_loyalty_tier_id", "loyalty_tier_id")
POINTS_FIELDS = ("ecrm_points_balance", "ecrm_loyalty_points", "ecrm_points")
SEGMENT_FIELD = "ecrm_segment_id"


class EcrmRenderHelper:
    """The ``ecrm`` object given to campaign templates, computed once per batch of customers.

    In a template: ``ecrm.segment(object)``, ``ecrm.tier(object)``, ``ecrm.points(object)``,
    ``ecrm.recommendations(object, 4)`` (product.product records).
    """

    def __init__(self, env, partners=None, campaign=None):
        self.env = env
        # without a batch (template preview, a one-off mailing), each call computes for its customer
        self.partners = partners
        self.company = campaign.company_id if campaign else env.company
        self._segments = None
        self._carts = None
        self._recommendations = {}

    def segment(self, partner):
        """Name of the customer's current segment ('' when none)."""
        Partner = self.env["res.partner"]
        if SEGMENT_FIELD in Partner._fields:
            return partner[SEGMENT_FIELD].display_name or ""
        if self.partners is None:
            return EcrmRenderHelper(self.env, partner, None).segment(partner)
        if self._segments is None:
            self.env["ecrm.segment.history"].flush_model()
            self.env.cr.execute(
                SQL(
                    """SELECT DISTINCT ON (h.partner_id) h.partner_id, h.segment_to_id
                         FROM ecrm_segment_history h
                        WHERE h.partner_id IN %(partners)s AND h.company_id = %(company)s
                     ORDER BY h.partner_id, h.date DESC, h.id DESC""",
                    partners=tuple(self.partners.ids) or (0,),
                    company=self.company.id,
                )
            )
            rows = dict(self.env.cr.fetchall())
            segments = self.env["ecrm.segment"].browse({sid for sid in rows.values() if sid})
            names = {segment.id: segment.name for segment in segments}
            self._segments = {pid: names.get(sid, "") for pid, sid in rows.items()}
        return self._segments.get(partner.id, "")

    def tier(self, partner):
        """The customer's loyalty tier: a tier field if a sibling addon defines one, else a "Tier" tag."""
        for fname in TIER_FIELDS:
            if fname in partner._fields:
                value = partner[fname]
                return value.display_name if hasattr(value, "display_name") else (value or "")
        for tag in partner.category_id:
            if tag.parent_id and (tag.parent_id.name or "").lower() in ("tier", "tiers", "loyalty tier"):
                return tag.name
        return ""

    def points(self, partner):
        """The customer's loyalty points balance, when a sibling addon provides one (else None)."""
        for fname in POINTS_FIELDS:
            if fname in partner._fields:
                return partner[fname]
        return None

    def cart(self, partner):
        """The customer's latest quotation with lines (the abandoned cart), or an empty record."""
        SaleOrder = self.env["sale.order"]
        partners = self.partners if self.partners is not None else partner
        if self._carts is None or partner.id not in partners.ids:
            orders = SaleOrder.search(
                [("partner_id", "in", partners.ids), ("state", "=", "draft"), ("order_line", "!=", False)],
                order="id desc",
            )
            self._carts = {}
            for order in orders:
                self._carts.setdefault(order.partner_id.id, order)
        return self._carts.get(partner.id, SaleOrder)

    def recommendations(self, partner, limit=4):
        """Recommended products for the customer (see ``ecrm.campaign._get_recommendations``)."""
        if self.partners is None:
            return self.env["ecrm.campaign"]._get_recommendations(partner, limit)
        if limit not in self._recommendations:
            self._recommendations[limit] = self.env["ecrm.campaign"]._get_recommendations_batch(
                self.partners.ids, limit, company=self.company
            )
        by_partner = self._recommendations[limit]
        # one prefetch set for the whole batch: product names are read in one query
        prefetch = {pid for ids in by_partner.values() for pid in ids}
        return self.env["product.product"].browse(by_partner.get(partner.id, [])).with_prefetch(prefetch)
