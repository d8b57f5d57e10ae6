import base64
import io
import time

import numpy as np
import xlsxwriter
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

# k tried by the automatic choice; the largest k one may set by hand
AUTO_K = range(2, 9)
MAX_K = 12
# customers drawn (fixed seed) to score each k: the silhouette is quadratic in the points
SILHOUETTE_SAMPLE = 4000
TOP_CATEGORIES = 3
# k-means runs on one thread: Odoo serves requests with several worker processes, and
# multi-threaded k-means on a busy machine slows down many times over (oversubscription)
THREADS = 1
# k-means++ initialisations of the final fit (the best inertia is kept)
N_INIT = 4
# the per-customer features, in the order of the matrix columns (category shares follow)
FEATURES = ["recency", "frequency", "monetary", "basket", "discount_share"]


class EcrmAnalysisClusterRun(models.Model):
    """A stored k-means clustering of the company's customers on their buying behaviour.

    Features per customer: recency (days), frequency (orders), monetary (net spend) and
    average basket from ``ecrm.partner.score`` (the counted orders: confirmed, company
    currency, credit notes deducted), discount share (share of the confirmed orders with a
    discounted line) and the share of spend in each of the company's top three categories. Frequency,
    monetary and basket are log-transformed (they are heavily skewed), then every feature is
    standardised (z-score) so that each weighs the same.

    The number of clusters is either set by hand or chosen as the k of 2..8 with the best
    mean silhouette score on a fixed-seed sample of customers. k-means runs with a fixed
    ``random_state``: the same data gives the same clusters.
    """

    _name = "ecrm.analysis.cluster.run"
    _description = "Customer Clusters"
    _order = "id desc"

    name = fields.Char(required=True, default=lambda self: self.env._("Customer clusters"))
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, readonly=True)
    k_mode = fields.Selection(
        [("auto", "Best silhouette (2 to 8)"), ("manual", "Set by hand")],
        string="Number of Clusters",
        default="auto",
        required=True,
    )
    k_manual = fields.Integer(string="Clusters Wanted", default=4)
    seed = fields.Integer(
        string="Random Seed", default=42, help="The same seed on the same data gives the same clusters."
    )
    state = fields.Selection([("draft", "Draft"), ("done", "Computed")], default="draft", readonly=True)
    cluster_count = fields.Integer(string="Clusters", readonly=True)
    customer_count = fields.Integer(string="Customers", readonly=True)
    silhouette = fields.Float(
        readonly=True, digits=(16, 3), help="Mean silhouette of the chosen k on the sample (-1 to 1)."
    )
    silhouette_note = fields.Text(string="Silhouette per k", readonly=True)
    computed_on = fields.Datetime(readonly=True)
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 2))
    categ_1_id = fields.Many2one("product.category", string="Top Category 1", readonly=True)
    categ_2_id = fields.Many2one("product.category", string="Top Category 2", readonly=True)
    categ_3_id = fields.Many2one("product.category", string="Top Category 3", readonly=True)
    line_ids = fields.One2many("ecrm.analysis.cluster", "run_id", string="Clusters Found", readonly=True)

    @api.constrains("k_mode", "k_manual")
    def _check_k(self):
        for run in self.filtered(lambda r: r.k_mode == "manual"):
            if not (2 <= run.k_manual <= MAX_K):
                raise ValidationError(
                    self.env._(
                        "The number of clusters must be between 2 and %(max)s (got %(value)s).",
                        max=MAX_K,
                        value=run.k_manual,
                    )
                )

    def action_compute(self):
        """Cluster the customers now (replacing the clusters of a previous computation)."""
        for run in self:
            run._compute_clusters()
        return True

    def action_open_members(self):
        """The customers of this clustering with their cluster and features."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.ecrm_analysis_cluster_member_action")
        action["domain"] = [("run_id", "=", self.id)]
        action["name"] = self.name
        return action

    def action_open_chart(self):
        """The clusters of this run as a bar chart of their sizes (and a list)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.ecrm_analysis_cluster_action")
        action["domain"] = [("run_id", "=", self.id)]
        action["name"] = self.name
        return action

    def action_export_xlsx(self):
        """Download the clusters and their customers as an XLSX workbook."""
        self.ensure_one()
        return _download(self, self.export_xlsx())

    def export_xlsx(self):
        """The workbook of this run: sheet *Clusters* (centres, descriptions, a chart of the
        sizes) and sheet *Customers* (each member with its cluster and features).

        :return: dict ``{file_name, content}`` (content: base64 XLSX)
        """
        self.ensure_one()
        clusters = self.line_ids.sorted("number")
        categories = [self[f"categ_{i}_id"] for i in (1, 2, 3) if self[f"categ_{i}_id"]]
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        bold = book.add_format({"bold": True})
        money = book.add_format({"num_format": "#,##0.00"})
        percent = book.add_format({"num_format": "0.0%"})
        number = book.add_format({"num_format": "0.0"})
        sheet = book.add_worksheet(self.env._("Clusters"))
        headers = [
            (self.env._("Cluster"), None), (self.env._("Description"), None), (self.env._("Customers"), None), (self.env._("Share of Customers"), percent),
            (self.env._("Days Since Last Order"), number), (self.env._("Orders"), number), (self.env._("Net Spend"), money),
            (self.env._("Average Basket"), money), (self.env._("Discounted Orders"), percent),
        ] + [(self.env._("Spend in %(category)s", category=c.name), percent) for c in categories]  # fmt: skip
        for col, (title, fmt) in enumerate(headers):
            sheet.write(0, col, title, bold)
            sheet.set_column(col, col, 40 if col == 1 else 16, fmt)
        for row, cluster in enumerate(clusters, start=1):
            values = [cluster.number, cluster.description, cluster.size, cluster.share, cluster.recency,
                      cluster.frequency, cluster.monetary, cluster.basket, cluster.discount_share]  # fmt: skip
            values += [cluster[f"categ_share_{i}"] for i in range(1, len(categories) + 1)]
            for col, value in enumerate(values):
                sheet.write(row, col, value)
        if clusters:
            chart = book.add_chart({"type": "column"})
            chart.add_series(
                {
                    "name": self.env._("Customers"),
                    "categories": [sheet.name, 1, 0, len(clusters), 0],
                    "values": [sheet.name, 1, 2, len(clusters), 2],
                }
            )
            chart.set_title({"name": self.env._("Customers per cluster")})
            chart.set_x_axis({"name": self.env._("Cluster")})
            chart.set_legend({"none": True})
            sheet.insert_chart(len(clusters) + 3, 1, chart)
        members_sheet = book.add_worksheet(self.env._("Customers"))
        member_headers = [self.env._("Customer"), self.env._("Cluster"), self.env._("Days Since Last Order"), self.env._("Orders"), self.env._("Net Spend"),
                          self.env._("Average Basket"), self.env._("Discounted Orders")]  # fmt: skip
        for col, title in enumerate(member_headers):
            members_sheet.write(0, col, title, bold)
        members_sheet.set_column(0, 0, 30)
        members_sheet.set_column(4, 5, 14, money)
        members_sheet.set_column(6, 6, 14, percent)
        self.env["ecrm.analysis.cluster.member"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT p.name, c.number, m.recency, m.frequency, m.monetary, m.basket, m.discount_share
                     FROM ecrm_analysis_cluster_member m
                     JOIN ecrm_analysis_cluster c ON c.id = m.cluster_id
                     JOIN res_partner p ON p.id = m.partner_id
                    WHERE m.run_id = %s ORDER BY c.number, m.monetary DESC, m.partner_id""",
                self.id,
            )
        )
        for row, values in enumerate(self.env.cr.fetchall(), start=1):
            members_sheet.write_row(row, 0, values)
        book.close()
        return {
            "file_name": f"clusters-{self.id}-{fields.Date.context_today(self)}.xlsx",
            "content": base64.b64encode(buffer.getvalue()).decode(),
        }

    @api.model
    def _get_features(self, company):
        """Per-customer features of ``company``, in one statement.

        Recency, frequency, monetary and basket are the customer's scores
        (``ecrm.partner.score``: the counted orders, company currency, credit notes deducted),
        so the clusters agree with the RFM screens; the discount share and the spend per
        category come from the lines of the customer's confirmed orders.

        :return: (partner ids sorted, matrix n x (5 + categories) of raw features, categories)
        """
        for model in ("sale.order", "sale.order.line", "product.template", "ecrm.partner.score"):
            self.env[model].flush_model()
        cr = self.env.cr
        today = fields.Date.context_today(self.with_company(company))
        cr.execute(
            SQL(
                """
                WITH scored AS (
                    SELECT partner_id, %(today)s::date - last_order_date AS recency, frequency, monetary,
                           monetary / NULLIF(frequency, 0) AS basket
                      FROM ecrm_partner_score WHERE company_id = %(company)s
                ),
                lines AS MATERIALIZED (
                    SELECT so.id AS order_id, cp.commercial_partner_id AS partner_id, pt.categ_id,
                           l.price_subtotal / COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS spend,
                           (l.discount > 0 OR l.price_unit < 0) AS discounted
                      FROM sale_order so
                      JOIN res_partner cp ON cp.id = so.partner_id
                      JOIN sale_order_line l ON l.order_id = so.id AND l.display_type IS NULL
                      JOIN product_product pp ON pp.id = l.product_id
                      JOIN product_template pt ON pt.id = pp.product_tmpl_id
                     WHERE so.company_id = %(company)s AND so.state = 'sale'
                ),
                orders AS (
                    SELECT partner_id, order_id, BOOL_OR(discounted) AS discounted FROM lines GROUP BY partner_id, order_id
                ),
                discounts AS (
                    SELECT partner_id, COUNT(*) FILTER (WHERE discounted)::float / COUNT(*) AS share
                      FROM orders GROUP BY partner_id
                ),
                spend AS (
                    SELECT partner_id, categ_id, SUM(spend) AS spend FROM lines GROUP BY partner_id, categ_id
                ),
                mix AS (
                    SELECT partner_id, ARRAY_AGG(categ_id) AS categs, ARRAY_AGG(spend) AS spends
                      FROM spend WHERE spend > 0 GROUP BY partner_id
                )
                SELECT s.partner_id, s.recency, s.frequency, s.monetary, s.basket, COALESCE(d.share, 0),
                       mix.categs, mix.spends
                  FROM scored s
             LEFT JOIN discounts d ON d.partner_id = s.partner_id
             LEFT JOIN mix ON mix.partner_id = s.partner_id
              ORDER BY s.partner_id
                """,
                today=today,
                company=company.id,
            )
        )
        rows = cr.fetchall()
        if not rows:
            return np.array([], dtype=np.int64), np.zeros((0, len(FEATURES))), []
        base = np.array([row[:6] for row in rows], dtype=float)
        # the customer and category of every (customer, category) spend, then the top categories
        counts = [len(row[6] or ()) for row in rows]
        owner = np.repeat(np.arange(len(rows)), counts)
        categ = np.array([c for row in rows for c in (row[6] or ())], dtype=np.int64)
        spend = np.array([v for row in rows for v in (row[7] or ())], dtype=float)
        unique, inverse = np.unique(categ, return_inverse=True)
        by_categ = np.bincount(inverse, weights=spend, minlength=len(unique))
        # largest spend first, ties by category id
        top = np.lexsort((unique, -by_categ))[:TOP_CATEGORIES]
        categories = [int(unique[i]) for i in top]
        customer_total = np.bincount(owner, weights=spend, minlength=len(rows))
        shares = np.zeros((len(rows), len(categories)))
        for column, categ_id in enumerate(categories):
            mask = categ == categ_id
            shares[owner[mask], column] = spend[mask]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(customer_total[:, None] > 0, shares / customer_total[:, None], 0.0)
        return base[:, 0].astype(np.int64), np.hstack([base[:, 1:], shares]), categories

    @api.model
    def _standardise(self, raw):
        """Log of the skewed columns (frequency, monetary, basket), then z-scores."""
        matrix = raw.copy()
        for column in (1, 2, 3):
            matrix[:, column] = np.log1p(np.maximum(matrix[:, column], 0))
        return StandardScaler().fit_transform(matrix)

    @api.model
    def _choose_k(self, matrix, seed):
        """The k of ``AUTO_K`` with the best silhouette on a fixed-seed sample, and each k's score."""
        rng = np.random.default_rng(seed)
        sample = matrix
        if len(matrix) > SILHOUETTE_SAMPLE:
            sample = matrix[np.sort(rng.choice(len(matrix), SILHOUETTE_SAMPLE, replace=False))]
        distinct = len(np.unique(sample, axis=0))
        scores = {}
        for k in AUTO_K:
            if k >= distinct:
                break
            labels = KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(sample)
            scores[k] = float(silhouette_score(sample, labels))
        if not scores:
            return 2, {}
        # the best score; a tie goes to the smaller k
        best = max(scores, key=lambda k: (round(scores[k], 6), -k))
        return best, scores

    def _compute_clusters(self):
        self.ensure_one()
        self.env["ecrm.analysis.pair"]._get_company(self.company_id.id)
        started = time.monotonic()
        partner_ids, raw, categories = self._get_features(self.company_id)
        wanted = self.k_manual if self.k_mode == "manual" else min(AUTO_K)
        if len(np.unique(raw, axis=0)) <= wanted:
            raise UserError(
                self.env._(
                    "Too few different customers to form %(k)s clusters: %(count)s customers with scores "
                    "(recompute the scores first if customers are missing).",
                    k=wanted,
                    count=len(partner_ids),
                )
            )
        matrix = self._standardise(raw)
        scores = {}
        with threadpool_limits(limits=THREADS):
            if self.k_mode == "manual":
                k = self.k_manual
            else:
                k, scores = self._choose_k(matrix, self.seed)
            model = KMeans(n_clusters=k, random_state=self.seed, n_init=N_INIT).fit(matrix)
        labels = model.labels_
        # number the clusters by size (largest first), ties by their centre: stable across runs
        sizes = np.bincount(labels, minlength=k)
        order = sorted(range(k), key=lambda c: (-sizes[c], tuple(np.round(model.cluster_centers_[c], 9))))
        renumber = np.empty(k, dtype=np.int64)
        renumber[order] = np.arange(k)
        labels = renumber[labels]
        self.line_ids.unlink()
        line_values = []
        for number in range(k):
            members = labels == number
            centre = raw[members].mean(axis=0)
            z = matrix[members].mean(axis=0)
            values = {
                "run_id": self.id,
                "company_id": self.company_id.id,
                "number": number + 1,
                "size": int(members.sum()),
                "share": float(members.mean()),
            }
            for index, name in enumerate(FEATURES):
                values[name] = float(centre[index])
                values[f"z_{name}"] = float(z[index])
            for index in range(len(categories)):
                values[f"categ_share_{index + 1}"] = float(centre[len(FEATURES) + index])
                values[f"z_categ_{index + 1}"] = float(z[len(FEATURES) + index])
            line_values.append(values)
        lines = self.env["ecrm.analysis.cluster"].create(line_values)
        self._store_members(partner_ids, raw, lines.ids, labels)
        note = "\n".join(f"k = {kk}: {score:.3f}" for kk, score in scores.items())
        self.write(
            {
                "state": "done",
                "cluster_count": k,
                "customer_count": len(partner_ids),
                "silhouette": scores.get(k, 0.0),
                "silhouette_note": note or False,
                "computed_on": fields.Datetime.now(),
                "duration": time.monotonic() - started,
                "categ_1_id": categories[0] if len(categories) > 0 else False,
                "categ_2_id": categories[1] if len(categories) > 1 else False,
                "categ_3_id": categories[2] if len(categories) > 2 else False,
            }
        )

    def _store_members(self, partner_ids, raw, line_ids, labels):
        """One member row per customer, in one statement."""
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ecrm_analysis_cluster_member
                       (run_id, company_id, cluster_id, partner_id, recency, frequency, monetary, basket,
                        discount_share)
                SELECT %(run)s, %(company)s, (%(lines)s::int[])[m.label + 1], m.partner_id, m.recency,
                       m.frequency, m.monetary, m.basket, m.discount_share
                  FROM (SELECT UNNEST(%(partners)s::int[]) AS partner_id, UNNEST(%(labels)s::int[]) AS label,
                               UNNEST(%(recency)s::float8[]) AS recency, UNNEST(%(frequency)s::float8[]) AS frequency,
                               UNNEST(%(monetary)s::float8[]) AS monetary, UNNEST(%(basket)s::float8[]) AS basket,
                               UNNEST(%(discount)s::float8[]) AS discount_share) m
                """,
                run=self.id,
                company=self.company_id.id,
                lines=list(line_ids),
                partners=partner_ids.tolist(),
                labels=labels.tolist(),
                recency=raw[:, 0].tolist(),
                frequency=raw[:, 1].tolist(),
                monetary=raw[:, 2].tolist(),
                basket=raw[:, 3].tolist(),
                discount=raw[:, 4].tolist(),
            )
        )
        self.env["ecrm.analysis.cluster.member"].invalidate_model()


def _download(record, export):
    """Store an export as an attachment of ``record`` and return the action downloading it."""
    attachment = record.env["ir.attachment"].create(
        {
            "name": export["file_name"],
            "datas": export["content"],
            "res_model": record._name,
            "res_id": record.id,
            "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    )
    return {"type": "ir.actions.act_url", "url": f"/web/content/{attachment.id}?download=true", "target": "self"}
