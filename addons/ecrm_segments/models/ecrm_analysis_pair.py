import numpy as np
from scipy import sparse

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

# Orders read per statement when building the order x product matrix: bounds the memory
# used by the fetched rows whatever the number of order lines.
ORDER_CHUNK = 100000
PAIR_ORDERS = [("support", "Support"), ("lift", "Lift"), ("confidence", "Confidence")]


class EcrmAnalysisPair(models.Model):
    """Two products found in the same confirmed orders, with support, confidence and lift.

    Rows belong to a stored analysis (``ecrm.analysis.pair.run``). The live computation is
    :meth:`get_bought_together`, which the analysis and the campaign recommendations call.

    Definitions, over the confirmed orders (state ``sale``) of the company having at least
    one product line, each product counted once per order (N orders):

    - support(A, B) = orders with A and B / N;
    - confidence(A → B) = orders with A and B / orders with A (and B → A likewise);
    - lift(A, B) = support(A, B) / (support(A) × support(B)): above 1, the two sell together
      more often than if they were bought independently.
    """

    _name = "ecrm.analysis.pair"
    _description = "Products Bought Together"
    _order = "run_id desc, orders desc, lift desc, id"
    _log_access = False

    run_id = fields.Many2one("ecrm.analysis.pair.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    product_a_id = fields.Many2one("product.product", string="Product", required=True, readonly=True)
    product_b_id = fields.Many2one("product.product", string="Bought With", required=True, readonly=True)
    categ_a_id = fields.Many2one("product.category", string="Category", readonly=True)
    categ_b_id = fields.Many2one("product.category", string="Category (Bought With)", readonly=True)
    orders = fields.Integer(string="Orders Together", readonly=True, aggregator="sum")
    orders_a = fields.Integer(string="Orders with Product", readonly=True)
    orders_b = fields.Integer(string="Orders with Bought With", readonly=True)
    support = fields.Float(readonly=True, digits=(16, 6), aggregator="max")
    confidence_ab = fields.Float(string="Confidence (Product → Bought With)", readonly=True, digits=(16, 4))
    confidence_ba = fields.Float(string="Confidence (Bought With → Product)", readonly=True, digits=(16, 4))
    lift = fields.Float(readonly=True, digits=(16, 3), aggregator="max")

    @api.model
    def get_bought_together(
        self,
        product_ids=None,
        categ_ids=None,
        min_support=None,
        min_orders=1,
        limit=None,
        order="support",
        company_id=None,
    ):
        """Product pairs bought in the same confirmed orders, best first.

        :param list product_ids: only pairs with one of these products, returned as
            ``product_a_id`` (a pair of two of them comes once per direction); by default
            every pair once, ``product_a_id < product_b_id``
        :param list categ_ids: only products of these categories or their subcategories
            (both products of a pair); supports are still relative to all orders
        :param float min_support: keep pairs with at least this support, in (0, 1]
        :param int min_orders: keep pairs found together in at least this many orders (>= 1)
        :param int limit: at most this many pairs (per product of ``product_ids`` when given)
        :param str order: ``support`` (default), ``lift`` or ``confidence`` (of A → B)
        :param int company_id: the company whose orders count (default: the current one)
        :return: list of dicts ``{product_a_id, product_b_id, orders, orders_a, orders_b,
            support, confidence_ab, confidence_ba, lift}``; also ``total_orders`` (N)
        :raise ValidationError: an argument out of range
        """
        self.check_access("read")
        company = self._get_company(company_id)
        return self._get_bought_together(
            company,
            product_ids=product_ids,
            categ_ids=categ_ids,
            min_support=min_support,
            min_orders=min_orders,
            limit=limit,
            order=order,
        )

    @api.model
    def _get_bought_together(
        self, company, product_ids=None, categ_ids=None, min_support=None, min_orders=1, limit=None, order="support"
    ):
        """:meth:`get_bought_together` for ``company`` without the access checks, for Python callers
        (the campaign recommendations run in a scheduled action for any company)."""
        self._check_pair_params(min_support, min_orders, limit, order)
        stats = self._pair_statistics(company, product_ids=product_ids, categ_ids=categ_ids)
        return self._pair_rows(stats, min_support, min_orders, limit, order)

    @api.model
    def _get_company(self, company_id):
        company = self.env["res.company"].browse(company_id) if company_id else self.env.company
        if not self.env.su and company not in self.env.user.company_ids:
            raise ValidationError(self.env._("You can only analyse the orders of the companies you work in."))
        return company

    @api.model
    def _check_pair_params(self, min_support, min_orders, limit, order):
        if min_support is not None and not (0 < min_support <= 1):
            raise ValidationError(
                self.env._(
                    "The minimum support is a share of the orders: more than 0 and at most 1 (got %(value)s).",
                    value=min_support,
                )
            )
        if not isinstance(min_orders, int) or min_orders < 1:
            raise ValidationError(
                self.env._(
                    "The minimum number of orders must be a whole number of at least 1 (got %(value)s).",
                    value=min_orders,
                )
            )
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ValidationError(
                self.env._("The limit must be a whole number of at least 1 (got %(value)s).", value=limit)
            )
        if order not in dict(PAIR_ORDERS):
            raise ValidationError(
                self.env._("Pairs can be ordered by support, lift or confidence (got %(value)s).", value=order)
            )

    @api.model
    def _pair_statistics(self, company, product_ids=None, categ_ids=None):
        """Counts behind the pairs: N, orders per product and the product co-occurrence matrix.

        The order x product incidence matrix is read in chunks of ``ORDER_CHUNK`` orders;
        each chunk adds its ``Xᵀ·X`` to a sparse product x product matrix, so memory is
        bounded by the chunk and the number of product pairs, not by the order lines.

        :return: dict ``total`` (N), ``products`` (sorted product ids), ``counts`` (orders
            per product, same order), ``matrix`` (CSR co-occurrence, exact on the rows of
            ``rows``), ``rows`` (product indices whose rows are exact), ``allowed`` (bool
            mask of the products allowed by ``categ_ids``)
        """
        for model in ("sale.order", "sale.order.line", "product.product", "product.template", "product.category"):
            self.env[model].flush_model()
        cr = self.env.cr
        base = SQL(
            """FROM sale_order_line l JOIN sale_order so ON so.id = l.order_id
              WHERE so.company_id = %s AND so.state = 'sale' AND l.product_id IS NOT NULL
                AND l.display_type IS NULL""",
            company.id,
        )
        # one statement: orders per product and the number of orders (the empty grouping set)
        cr.execute(
            SQL(
                "SELECT l.product_id, COUNT(DISTINCT l.order_id) %s GROUPING SETS ((l.product_id), ()) ",
                SQL("%s GROUP BY", base),
            )
        )
        total = 0
        per_product = []
        for product_id, count in cr.fetchall():
            if product_id is None:
                total = count
            else:
                per_product.append((product_id, count))
        per_product.sort()
        products = np.array([p for p, _c in per_product], dtype=np.int64)
        counts = np.array([c for _p, c in per_product], dtype=np.int64)
        size = len(products)
        allowed = np.ones(size, dtype=bool)
        if categ_ids:
            cr.execute(
                SQL(
                    """SELECT pp.id FROM product_product pp
                         JOIN product_template pt ON pt.id = pp.product_tmpl_id
                         JOIN product_category pc ON pc.id = pt.categ_id
                        WHERE pp.id = ANY(%s) AND EXISTS (
                              SELECT 1 FROM product_category root WHERE root.id = ANY(%s)
                                 AND pc.parent_path LIKE root.parent_path || '%%')""",
                    products.tolist(),
                    [int(c) for c in categ_ids],
                )
            )
            allowed = np.isin(products, [row[0] for row in cr.fetchall()])
        if product_ids is not None:
            rows = np.flatnonzero(np.isin(products, [int(p) for p in product_ids]) & allowed)
        else:
            rows = np.flatnonzero(allowed)
        matrix = sparse.csr_matrix((size, size), dtype=np.int64)
        if size and len(rows):
            restrict = SQL()
            if product_ids is not None:
                restrict = SQL(
                    "AND l.order_id IN (SELECT order_id FROM sale_order_line WHERE product_id = ANY(%s))",
                    products[rows].tolist(),
                )
            if categ_ids:
                restrict = SQL("%s AND l.product_id = ANY(%s)", restrict, products[allowed].tolist())
            cr.execute(SQL("SELECT MIN(so.id), MAX(so.id) %s %s", base, restrict))
            low, high = cr.fetchone()
            for start in range(low or 0, (high or -1) + 1, ORDER_CHUNK):
                cr.execute(
                    SQL(
                        "SELECT DISTINCT l.order_id, l.product_id %s %s AND so.id >= %s AND so.id < %s",
                        base,
                        restrict,
                        start,
                        start + ORDER_CHUNK,
                    )
                )
                chunk = np.array(cr.fetchall(), dtype=np.int64).reshape(-1, 2)
                if not len(chunk):
                    continue
                order_index = np.unique(chunk[:, 0], return_inverse=True)[1]
                incidence = sparse.csr_matrix(
                    (np.ones(len(chunk), dtype=np.int64), (order_index, np.searchsorted(products, chunk[:, 1]))),
                    shape=(int(order_index.max()) + 1, size),
                )
                matrix = matrix + (incidence.T @ incidence).tocsr()
        return {
            "total": total,
            "products": products,
            "counts": counts,
            "matrix": matrix,
            "rows": rows,
            "allowed": allowed,
            "directed": product_ids is not None,
        }

    @api.model
    def _pair_rows(self, stats, min_support, min_orders, limit, order):
        """The pair dicts of :meth:`get_bought_together` from :meth:`_pair_statistics`."""
        total = stats["total"]
        if not total or not len(stats["rows"]):
            return []
        products, counts, allowed = stats["products"], stats["counts"], stats["allowed"]
        coo = stats["matrix"][stats["rows"]].tocoo()
        a = stats["rows"][coo.row]
        b = coo.col
        together = coo.data
        keep = (a != b) & allowed[b] & (together >= max(min_orders, 1))
        if not stats["directed"]:
            keep &= a < b
        if min_support:
            # compare counts, not rounded shares: support >= s  <=>  together >= s * N
            keep &= together >= min_support * total - 1e-9
        a, b, together = a[keep], b[keep], together[keep]
        support = together / total
        confidence_ab = together / counts[a]
        confidence_ba = together / counts[b]
        lift = together * total / (counts[a] * counts[b])
        key = {"support": together, "lift": lift, "confidence": confidence_ab}[order]
        # best first, ties by the other measures then by product ids: the same data, the same list
        ranking = np.lexsort((products[b], products[a], -together, -lift, -key))
        if limit:
            if stats["directed"]:
                ranking = ranking[_first_per_group(a[ranking], limit)]
            else:
                ranking = ranking[:limit]
        return [
            {
                "product_a_id": int(products[a[i]]),
                "product_b_id": int(products[b[i]]),
                "orders": int(together[i]),
                "orders_a": int(counts[a[i]]),
                "orders_b": int(counts[b[i]]),
                "support": float(support[i]),
                "confidence_ab": float(confidence_ab[i]),
                "confidence_ba": float(confidence_ba[i]),
                "lift": float(lift[i]),
                "total_orders": int(total),
            }
            for i in ranking
        ]


def _first_per_group(groups, limit):
    """Positions of the first ``limit`` items of each group value, in their order."""
    if not len(groups):
        return np.array([], dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.r_[0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1]
    rank = np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))
    return np.sort(order[rank < limit])
