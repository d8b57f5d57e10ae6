from collections import defaultdict

from odoo import api, models
from odoo.tools import SQL


class EcrmCampaign(models.Model):
    _inherit = "ecrm.campaign"

    @api.model
    def _get_recommendations(self, partner, limit=4):
        """Products to recommend to ``partner``, best first.

        1. "Bought together" (``ecrm.analysis.pair``): products found in confirmed orders of
           the company (of any customer) with a product the customer bought, ranked by the
           number of orders shared with the customer's products;
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
    def _get_recommendations_batch(self, partner_ids, limit=4, company=None):
        """Set-based version of ``_get_recommendations``: {partner_id: [product ids]}.

        A constant number of queries whatever the number of customers: the products they
        bought, the pairs of ``ecrm.analysis.pair._get_bought_together`` (orders of
        ``company``, default the current one) for all those products at once, the
        favourite-category best sellers, then the overall best sellers.
        """
        if not partner_ids:
            return {}
        company = company or self.env.company
        for model in ("sale.order", "sale.order.line", "product.product", "product.template"):
            self.env[model].flush_model()
        bought = self._get_bought_products(partner_ids)
        bought_products = sorted({pid for products in bought.values() for pid in products})
        pairs = self.env["ecrm.analysis.pair"]._get_bought_together(company, product_ids=bought_products)
        with_product = defaultdict(list)
        for pair in pairs:
            with_product[pair["product_a_id"]].append((pair["product_b_id"], pair["orders"]))
        sellable = self._get_sellable({pair["product_b_id"] for pair in pairs})
        self.env.cr.execute(
            SQL(
                """
                WITH sold AS (
                    SELECT so.partner_id, l.product_id, l.product_uom_qty AS qty, pt.categ_id
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
                    SELECT f.partner_id, b.product_id, b.qty,
                           ROW_NUMBER() OVER (PARTITION BY f.partner_id ORDER BY b.qty DESC, b.product_id) AS rn
                      FROM favourite f JOIN best b ON b.categ_id = f.categ_id
                     WHERE NOT EXISTS (SELECT 1 FROM bought x WHERE x.partner_id = f.partner_id
                                                             AND x.product_id = b.product_id)
                )
                SELECT partner_id, product_id FROM fallback WHERE rn <= %(limit)s * 2
              ORDER BY partner_id, rn
                """,
                partners=list(partner_ids),
                limit=limit,
            )
        )
        fallback = defaultdict(list)
        for partner_id, product_id in self.env.cr.fetchall():
            fallback[partner_id].append(product_id)
        result = defaultdict(list)
        for partner_id in partner_ids:
            # bought together: orders shared with any product the customer bought, most first
            scores = defaultdict(int)
            for product_id in bought[partner_id]:
                for other_id, orders in with_product[product_id]:
                    if other_id in sellable and other_id not in bought[partner_id]:
                        scores[other_id] += orders
            ranked = sorted(scores, key=lambda pid, scores=scores: (-scores[pid], pid))
            products = result[partner_id]
            for product_id in ranked[: limit * 2] + fallback[partner_id]:
                if len(products) < limit and product_id not in products:
                    products.append(product_id)
        short = [pid for pid in partner_ids if len(result[pid]) < limit]
        if short:
            for product_id in self._get_best_sellers(limit * 3 + max((len(bought[p]) for p in short), default=0)):
                for pid in short:
                    products = result[pid]
                    if len(products) < limit and product_id not in products and product_id not in bought[pid]:
                        products.append(product_id)
        return {pid: result[pid] for pid in partner_ids}

    @api.model
    def _get_sellable(self, product_ids):
        """The subset of ``product_ids`` that may be proposed: active and sellable."""
        if not product_ids:
            return set()
        self.env.cr.execute(
            SQL(
                """SELECT pp.id FROM product_product pp JOIN product_template pt ON pt.id = pp.product_tmpl_id
                    WHERE pp.id = ANY(%s) AND pp.active AND pt.active AND pt.sale_ok""",
                list(product_ids),
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

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
