from collections import defaultdict

from odoo import api, models
from odoo.tools import SQL


class EcrmCampaign(models.Model):
    _inherit = "ecrm.campaign"

    @api.model
    def _get_recommendations(self, partner, limit=4):
        """Products to recommend to ``partner``, best first.

        1. "Bought together": products found in confirmed orders (of any customer) that also
           contain a product the customer bought, ranked by the number of such orders;
        2. then the best sellers (confirmed quantity) of the customer's favourite category (the
           category of the products they bought most);
        3. then the overall best sellers.
        Products the customer already bought, archived or not sellable products are never proposed.

        :param partner: a res.partner record (or id)
        :param int limit: how many products at most
        :return: product.product records, ordered
        """
        partner_id = partner if isinstance(partner, int) else partner.id
        ids = self._get_recommendations_batch([partner_id], limit).get(partner_id, [])
        return self.env["product.product"].browse(ids)

    @api.model
    def get_recommendations(self, partner_ids, limit=4):
        """RPC API of ``_get_recommendations``: {"<partner id>": [product ids, best first]}."""
        if isinstance(partner_ids, int):
            partner_ids = [partner_ids]
        self.env["res.partner"].browse(partner_ids).check_access("read")
        result = self._get_recommendations_batch([int(pid) for pid in partner_ids], int(limit))
        return {str(pid): product_ids for pid, product_ids in result.items()}

    @api.model
    def _get_recommendations_batch(self, partner_ids, limit=4):
        """Set-based version of ``_get_recommendations``: {partner_id: [product ids]} in one query."""
        if not partner_ids:
            return {}
        for model in ("sale.order", "sale.order.line", "product.product", "product.template"):
            self.env[model].flush_model()
        self.env.cr.execute(
            SQL(
                """
                WITH sold AS (
                    SELECT so.partner_id, l.order_id, l.product_id, l.product_uom_qty AS qty, pt.categ_id
                      FROM sale_order_line l
                      JOIN sale_order so ON so.id = l.order_id AND so.state = 'sale'
                      JOIN product_product pp ON pp.id = l.product_id
                      JOIN product_template pt ON pt.id = pp.product_tmpl_id
                     WHERE l.display_type IS NULL
                ),
                sellable AS (
                    SELECT pp.id FROM product_product pp JOIN product_template pt ON pt.id = pp.product_tmpl_id
                     WHERE pp.active AND pt.active AND pt.sale_ok
                ),
                bought AS (
                    SELECT DISTINCT partner_id, product_id FROM sold WHERE partner_id = ANY(%(partners)s)
                ),
                together AS (
                    SELECT b.partner_id, o.product_id, COUNT(DISTINCT o.order_id) AS score
                      FROM bought b
                      JOIN sold s ON s.product_id = b.product_id
                      JOIN sold o ON o.order_id = s.order_id AND o.product_id != s.product_id
                     WHERE o.product_id IN (SELECT id FROM sellable)
                       AND NOT EXISTS (SELECT 1 FROM bought x WHERE x.partner_id = b.partner_id
                                                               AND x.product_id = o.product_id)
                  GROUP BY b.partner_id, o.product_id
                ),
                favourite AS (
                    SELECT DISTINCT ON (partner_id) partner_id, categ_id
                      FROM sold WHERE partner_id = ANY(%(partners)s)
                  GROUP BY partner_id, categ_id
                  ORDER BY partner_id, SUM(qty) DESC, categ_id
                ),
                best AS (
                    SELECT categ_id, product_id, SUM(qty) AS qty FROM sold
                     WHERE product_id IN (SELECT id FROM sellable)
                  GROUP BY categ_id, product_id
                ),
                fallback AS (
                    SELECT f.partner_id, b.product_id, b.qty
                      FROM favourite f JOIN best b ON b.categ_id = f.categ_id
                     WHERE NOT EXISTS (SELECT 1 FROM bought x WHERE x.partner_id = f.partner_id
                                                             AND x.product_id = b.product_id)
                ),
                ranked AS (
                    SELECT partner_id, product_id, 0 AS kind, score::float AS score,
                           ROW_NUMBER() OVER (PARTITION BY partner_id ORDER BY score DESC, product_id) AS rn
                      FROM together
                 UNION ALL
                    SELECT partner_id, product_id, 1, qty::float,
                           ROW_NUMBER() OVER (PARTITION BY partner_id ORDER BY qty DESC, product_id)
                      FROM fallback
                )
                SELECT partner_id, product_id FROM ranked WHERE rn <= %(limit)s * 2
              ORDER BY partner_id, kind, score DESC, product_id
                """,
                partners=list(partner_ids),
                limit=limit,
            )
        )
        result = defaultdict(list)
        for partner_id, product_id in self.env.cr.fetchall():
            products = result[partner_id]
            if len(products) < limit and product_id not in products:
                products.append(product_id)
        short = [pid for pid in partner_ids if len(result[pid]) < limit]
        if short:
            bought = self._get_bought_products(short)
            for product_id in self._get_best_sellers(limit * 3 + max((len(b) for b in bought.values()), default=0)):
                for pid in short:
                    products = result[pid]
                    if len(products) < limit and product_id not in products and product_id not in bought[pid]:
                        products.append(product_id)
        return {pid: result[pid] for pid in partner_ids}

    @api.model
    def _get_bought_products(self, partner_ids):
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT so.partner_id, l.product_id FROM sale_order_line l
                     JOIN sale_order so ON so.id = l.order_id
                    WHERE so.state = 'sale' AND so.partner_id = ANY(%s) AND l.product_id IS NOT NULL""",
                list(partner_ids),
            )
        )
        bought = defaultdict(set)
        for partner_id, product_id in self.env.cr.fetchall():
            bought[partner_id].add(product_id)
        return bought

    @api.model
    def _get_best_sellers(self, limit):
        """Ids of the best selling sellable products overall (confirmed quantity), best first."""
        self.env.cr.execute(
            SQL(
                """SELECT l.product_id FROM sale_order_line l
                     JOIN sale_order so ON so.id = l.order_id AND so.state = 'sale'
                     JOIN product_product pp ON pp.id = l.product_id AND pp.active
                     JOIN product_template pt ON pt.id = pp.product_tmpl_id AND pt.active AND pt.sale_ok
                    WHERE l.display_type IS NULL
                 GROUP BY l.product_id ORDER BY SUM(l.product_uom_qty) DESC, l.product_id LIMIT %s""",
                limit,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]
