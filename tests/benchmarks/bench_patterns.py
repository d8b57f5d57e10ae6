"""Benchmark: customer clusters and products bought together against bare SQL floors.

- clusters: ``ecrm.analysis.cluster.run._compute_clusters`` (features from the scores and the
  order lines, silhouette choice of k on a sample, k-means on every customer, members stored)
  against the floor: a bare SQL aggregate of per-customer features over the orders, fetched;
- bought together: ``ecrm.analysis.pair._get_bought_together`` over every confirmed order line
  (order x product matrix read in chunks, sparse co-occurrence) against the floor: one SQL
  self-join counting the same pairs.

Prints seconds, the ratios against the floors measured in the same run and the process's peak
memory (resident set size) before and after each step.

Usage: python tests/benchmarks/bench_patterns.py --size small           (builds its own database)
       python tests/benchmarks/bench_patterns.py --size 100k --db COPY  (a copy of a generated 100k
       database with this ecrm_segments installed; nothing is committed there)
The Odoo source is found through ECRM_ODOO_SRC (default ~/.local/src/odoo-19.0); PostgreSQL
through the standard PG* variables (default 127.0.0.1:5432, current role).
"""

import argparse
import io
import os
import resource
import subprocess
import sys
import time

import numpy as np
from benchlib import ODOO_SRC, install, odoo_args

SIZES = {"small": 5000}
ANALYZED = ["sale_order", "sale_order_line", "res_partner", "product_product", "product_template", "account_move",
            "account_move_line", "sale_order_line_invoice_rel"]  # fmt: skip
PRODUCTS = 300
CATEGORIES = 12

FEATURE_FLOOR = """
    WITH o AS (
        SELECT so.id, cp.commercial_partner_id AS partner_id, so.date_order::date AS day,
               so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0) AS amount
          FROM sale_order so JOIN res_partner cp ON cp.id = so.partner_id
         WHERE so.company_id = %(company)s AND so.state = 'sale'
    ),
    d AS (SELECT DISTINCT order_id FROM sale_order_line WHERE discount > 0 OR price_unit < 0)
    SELECT o.partner_id, CURRENT_DATE - MAX(o.day), COUNT(*), SUM(o.amount), SUM(o.amount) / COUNT(*),
           COUNT(d.order_id)::float / COUNT(*)
      FROM o LEFT JOIN d ON d.order_id = o.id
  GROUP BY o.partner_id
"""

PAIR_FLOOR = """
    WITH x AS (
        SELECT DISTINCT l.order_id, l.product_id FROM sale_order_line l JOIN sale_order so ON so.id = l.order_id
         WHERE so.company_id = %(company)s AND so.state = 'sale' AND l.product_id IS NOT NULL
           AND l.display_type IS NULL
    )
    SELECT a.product_id, b.product_id, COUNT(*) FROM x a JOIN x b ON b.order_id = a.order_id
       AND a.product_id < b.product_id
  GROUP BY a.product_id, b.product_id
"""


def say(message):
    print(f"[patterns] {message}", flush=True)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def copy_rows(cr, table, columns, rows):
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    cr._obj.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def generate(env, customers, seed=42):
    """Customers in four behaviours, products in categories, orders and lines (COPY)."""
    cr = env.cr
    rng = np.random.default_rng(seed)
    company = env.company
    categories = env["product.category"].create([{"name": f"Bench Category {i}"} for i in range(CATEGORIES)])
    products = env["product.product"].create(
        [
            {"name": f"Bench Product {i}", "list_price": 10.0, "categ_id": categories[i % CATEGORIES].id}
            for i in range(PRODUCTS)
        ]
    )
    env.flush_all()
    product_ids = np.array(products.ids)
    cr.execute("SELECT nextval('res_partner_id_seq') FROM generate_series(1, %s)", [customers])
    partner_ids = np.array([r[0] for r in cr.fetchall()])
    copy_rows(
        cr,
        "res_partner",
        [
            "id",
            "name",
            "complete_name",
            "active",
            "customer_rank",
            "supplier_rank",
            "type",
            "autopost_bills",
            "commercial_partner_id",
        ],  # fmt: skip
        (
            (pid, f"Bench Customer {i}", f"Bench Customer {i}", "t", 1, 0, "contact", "ask", pid)
            for i, pid in enumerate(partner_ids)
        ),  # fmt: skip
    )
    # behaviours: (orders mean, basket mean, discount probability, favourite category share)
    kinds = rng.integers(0, 4, customers)
    orders_mean = np.array([8.0, 1.2, 3.0, 2.0])[kinds]
    basket = np.array([25.0, 400.0, 120.0, 60.0])[kinds]
    discount_p = np.array([0.8, 0.05, 0.1, 0.3])[kinds]
    n_orders = 1 + rng.poisson(orders_mean)
    owner = np.repeat(np.arange(customers), n_orders)
    count = len(owner)
    days = rng.integers(0, 730, count)
    cr.execute("SELECT nextval('sale_order_id_seq') FROM generate_series(1, %s)", [count])
    order_ids = np.array([r[0] for r in cr.fetchall()])
    now = np.datetime64("now", "s")
    dates = now - (days * 86400).astype("timedelta64[s]")
    amounts = np.round(rng.gamma(3.0, basket[owner] / 3.0) + 1, 2)
    currency = company.currency_id.id
    copy_rows(
        cr,
        "sale_order",
        [
            "id",
            "name",
            "state",
            "company_id",
            "partner_id",
            "partner_invoice_id",
            "partner_shipping_id",
            "date_order",
            "amount_untaxed",
            "amount_total",
            "amount_tax",
            "currency_rate",
            "currency_id",
            "locked",
        ],  # fmt: skip
        (
            (
                order_ids[i],
                f"PB{i}",
                "sale",
                company.id,
                partner_ids[owner[i]],
                partner_ids[owner[i]],
                partner_ids[owner[i]],
                str(dates[i]).replace("T", " "),
                amounts[i],
                amounts[i],
                0,
                1.0,
                currency,
                "f",
            )
            for i in range(count)
        ),  # fmt: skip
    )
    # lines: 1 to 6 per order; a favourite category per customer, planted pairs (p, p + 1)
    n_lines = 1 + rng.integers(0, 6, count)
    line_order = np.repeat(np.arange(count), n_lines)
    favourite = rng.integers(0, CATEGORIES, customers)[owner[line_order]]
    pick = rng.integers(0, PRODUCTS // CATEGORIES, len(line_order)) * CATEGORIES + favourite
    other = rng.random(len(line_order)) < 0.3
    pick = np.where(other, rng.integers(0, PRODUCTS, len(line_order)), pick)
    # the line after a planted product is often its partner
    planted = np.r_[False, (pick[:-1] % 10 == 0) & (line_order[1:] == line_order[:-1])]
    pick = np.where(planted & (rng.random(len(pick)) < 0.7), np.r_[0, pick[:-1]] + 1, pick) % PRODUCTS
    discounted = rng.random(count) < discount_p[owner]
    price = np.round(amounts[line_order] / n_lines[line_order], 2)
    copy_rows(
        cr,
        "sale_order_line",
        [
            "order_id",
            "name",
            "product_id",
            "product_uom_qty",
            "price_unit",
            "price_subtotal",
            "discount",
            "customer_lead",
            "company_id",
            "currency_id",
        ],  # fmt: skip
        (
            (
                order_ids[line_order[i]],
                "Bench line",
                product_ids[pick[i]],
                1,
                price[i],
                price[i],
                10 if discounted[line_order[i]] else 0,
                0,
                company.id,
                currency,
            )
            for i in range(len(line_order))
        ),  # fmt: skip
    )
    for table in ("res_partner", "sale_order", "sale_order_line"):
        cr.execute(f"ANALYZE {table}")
    env.invalidate_all()
    return customers, count, len(line_order)


def timed(function, *args, runs=1):
    best = None
    result = None
    for _run in range(runs):
        start = time.perf_counter()
        result = function(*args)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return best, result


def measure_clusters(env, company, runs):
    cr = env.cr
    cr.execute("SELECT COUNT(*) FROM ecrm_partner_score WHERE company_id = %s", [company.id])
    if not cr.fetchone()[0]:
        # the clusters read R, F, M from the scores of the nightly recompute: run it once
        start = time.perf_counter()
        env["ecrm.partner.score"]._recompute_company(company)
        say(f"scores recomputed first (the nightly job, not part of the clustering): "
            f"{time.perf_counter() - start:.1f}s")  # fmt: skip

    def feature_floor():
        cr.execute(FEATURE_FLOOR, {"company": company.id})
        return len(cr.fetchall())

    floor_features, floor_rows = timed(feature_floor, runs=runs)
    Run = env["ecrm.analysis.cluster.run"]
    rss_before = rss_mb()
    start = time.perf_counter()
    partner_ids, _raw, _categories = Run._get_features(company)
    features_seconds = time.perf_counter() - start
    run = Run.create({"name": "Benchmark"})
    start = time.perf_counter()
    run._compute_clusters()
    cluster_seconds = time.perf_counter() - start
    cluster_rss = rss_mb()
    say(f"clusters floor (bare SQL feature aggregate over the orders, {floor_rows:,} customers): {floor_features:.2f}s")
    say(f"features of ecrm.analysis.cluster.run ({len(partner_ids):,} customers: scores, discount share, "
        f"category mix): {features_seconds:.2f}s = {features_seconds / floor_features:.2f}x the floor")  # fmt: skip
    say(f"whole clustering (features, k chosen = {run.cluster_count}, silhouette {run.silhouette:.3f}, "
        f"k-means, members stored): {cluster_seconds:.2f}s = {cluster_seconds / floor_features:.2f}x the floor; "
        f"target < 60 s")  # fmt: skip
    for cluster in run.line_ids.sorted("number"):
        say(f"  cluster {cluster.number}: {cluster.size:,} customers - {cluster.description}")
    say(f"peak RSS {rss_before:.0f} MB before, {cluster_rss:.0f} MB after clustering")
    cr.rollback()


def measure_pairs(env, company, lines, runs):
    cr = env.cr

    def pair_floor():
        cr.execute(PAIR_FLOOR, {"company": company.id})
        return len(cr.fetchall())

    floor_pairs, floor_count = timed(pair_floor, runs=runs)
    Pair = env["ecrm.analysis.pair"]
    rss_before = rss_mb()
    pair_seconds, pairs = timed(lambda: Pair._get_bought_together(company), runs=1)
    pair_rss = rss_mb()
    say(f"bought-together floor (bare SQL self-join pair count, {floor_count:,} pairs): {floor_pairs:.2f}s")
    say(f"ecrm.analysis.pair._get_bought_together over {lines:,} lines ({len(pairs):,} pairs): "
        f"{pair_seconds:.2f}s = {pair_seconds / floor_pairs:.2f}x the floor; target < 60 s")  # fmt: skip
    if len(pairs) != floor_count:
        say(f"MISMATCH: {len(pairs):,} pairs, the floor counts {floor_count:,}")
    say(f"peak RSS {rss_before:.0f} MB before, {pair_rss:.0f} MB after the pairs "
        f"(+{pair_rss - rss_before:.0f} MB for {lines:,} lines)")  # fmt: skip
    top = sorted(pairs, key=lambda p: -p["lift"] * (p["orders"] >= 20))[:3]
    for pair in top:
        say(f"  pair {pair['product_a_id']} + {pair['product_b_id']}: {pair['orders']} orders, "
            f"support {pair['support']:.4f}, lift {pair['lift']:.2f}")  # fmt: skip
    sample = [p["product_a_id"] for p in pairs[:50]]
    reco_seconds, _rows = timed(lambda: Pair._get_bought_together(company, product_ids=sample), runs=1)
    say(f"pairs of 50 products (the recommendation path): {reco_seconds:.2f}s = "
        f"{reco_seconds / floor_pairs:.2f}x the floor")  # fmt: skip
    cr.rollback()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["small", "100k"], default="small")
    parser.add_argument("--db", help="database (small: created; 100k: an existing copy, required)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database built by --size small")
    parser.add_argument("--only", choices=["clusters", "pairs"], help="measure one of the two analyses")
    args = parser.parse_args()
    if args.size == "100k" and not args.db:
        parser.error("--size 100k measures an existing copy of a generated 100k database: give --db")
    db = args.db or f"patterns_bench_{os.getpid()}"
    if args.size == "small":
        subprocess.run(["dropdb", "--if-exists", db], check=False, capture_output=True)
        install(db, "ecrm_segments")
    sys.path.insert(0, str(ODOO_SRC))
    from odoo.tools import config  # Odoo is found at run time

    config.parse_config(odoo_args(db), setup_logging=False)
    from odoo import api
    from odoo.modules.registry import Registry
    from odoo.orm.utils import SUPERUSER_ID
    from odoo.sql_db import close_db

    registry = Registry(db)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            if args.size == "small":
                start = time.perf_counter()
                customers, orders, lines = generate(env, SIZES["small"])
                cr.commit()
                say(f"generated {customers:,} customers, {orders:,} orders, {lines:,} lines "
                    f"in {time.perf_counter() - start:.1f}s")  # fmt: skip
            else:
                # a freshly generated database may have no planner statistics yet: the floors and
                # the code would both be measured on bad plans
                for table in ANALYZED:
                    cr.execute(f"ANALYZE {table}")
                cr.commit()
            company = env.company
            cr.execute(
                """SELECT COUNT(DISTINCT so.partner_id), COUNT(DISTINCT so.id), COUNT(*)
                     FROM sale_order so JOIN sale_order_line l ON l.order_id = so.id
                    WHERE so.company_id = %s AND so.state = 'sale'""",
                [company.id],
            )
            customers, orders, lines = cr.fetchone()
            say(f"company {company.name}: {customers:,} buying customers, {orders:,} confirmed orders, "
                f"{lines:,} order lines")  # fmt: skip
            env["ecrm.config"]._get_for_company(company)
            runs = 2 if args.size == "small" else 1  # the 100k self-join floor takes minutes
            if args.only != "pairs":
                measure_clusters(env, company, runs)
            if args.only != "clusters":
                measure_pairs(env, company, lines, runs)
    finally:
        close_db(db)
        if args.size == "small" and not args.keep_db:
            subprocess.run(["dropdb", "--if-exists", db], check=False)


if __name__ == "__main__":
    main()
