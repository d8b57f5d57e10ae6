"""Benchmark of the customer analyses of ecrm_segments, with ratios against a floor measured in the same run.

    python bench_analytics.py --size small|100k [--template DB] [--keep-db]
    python bench_analytics.py --db NAME          # an existing database with customers and orders

Data: without ``--db``, a new database (ecrm_segments installed, or a copy of ``--template``)
filled with the customers and orders of bench_segments.py (BG/NBD purchase histories over three
years, 5% cancelled orders: 5,000 customers / ~50,000 orders at ``small``, 100,000 / ~1,000,000
at ``100k``), then scored once. With ``--db``, the data already there (e.g. a copy of the shared
100k database with this ecrm_segments updated into it).

1. KPI board (``ecrm.analysis.kpi.get_kpis``) of the last 90 days against the 90 days before,
   against the floor: one bare SQL statement computing the same figures (active, new, repeat,
   retained customers, orders and revenue of both periods, average CLV, revenue per segment)
   straight from the orders, with the same filters and refund deduction. Target: <= 3x.
2. Cohort matrix (``ecrm.analysis.cohort.get_cohorts``) of the last 24 months against one bare
   SQL statement computing the same cells. Target: <= 3x.
3. Trends and forecast (``ecrm.analysis.trend.get_trends``), monthly over three years with a
   six-month forecast: printed, no target.

Each is timed as the best of three runs; the figures of the method and of the floor are compared.
Settings: ECRM_ODOO_SRC (Odoo 19.0 source, default ~/.local/src/odoo-19.0) and the PG* variables.
"""

import argparse
import subprocess
import sys
import time
from datetime import date, timedelta

from benchlib import ODOO_SRC, install, odoo_args

SIZES = {"small": 5_000, "100k": 100_000}
RUNS = 3

REFUNDS = """
    LEFT JOIN (SELECT x.order_id, SUM(x.balance) AS refunded
                 FROM (SELECT DISTINCT sol.order_id, aml.id, aml.balance
                         FROM account_move_line aml
                         JOIN account_move am ON am.id = aml.move_id
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                         JOIN sale_order_line sol ON sol.id = rel.order_line_id
                        WHERE am.move_type = 'out_refund' AND am.state = 'posted'
                          AND aml.company_id = %(company)s AND aml.display_type = 'product') x
             GROUP BY x.order_id) rf ON rf.order_id = so.id
"""

ORDERS = f"""
    SELECT cp.commercial_partner_id AS partner_id, so.date_order::date AS day,
           so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0) - COALESCE(rf.refunded, 0) AS amount
      FROM sale_order so
      JOIN res_partner cp ON cp.id = so.partner_id
      {REFUNDS}
     WHERE so.company_id = %(company)s AND so.state = 'sale'
       AND (rf.order_id IS NULL
            OR so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0) - rf.refunded > 0.005)
"""

FLOOR_KPI_SQL = f"""
    WITH o AS MATERIALIZED ({ORDERS}),
    p AS (
        SELECT partner_id, MIN(day) AS first_day,
               COUNT(*) FILTER (WHERE day >= %(f0)s) AS n0, SUM(amount) FILTER (WHERE day >= %(f0)s) AS r0,
               COUNT(*) FILTER (WHERE day BETWEEN %(f1)s AND %(t1)s) AS n1,
               SUM(amount) FILTER (WHERE day BETWEEN %(f1)s AND %(t1)s) AS r1,
               COUNT(*) FILTER (WHERE day BETWEEN %(f2)s AND %(t2)s) AS n2,
               COUNT(*) AS total0, COUNT(*) FILTER (WHERE day <= %(t1)s) AS total1
          FROM o WHERE day <= %(t0)s GROUP BY partner_id
    )
    SELECT COUNT(*) FILTER (WHERE n0 > 0), COUNT(*) FILTER (WHERE n0 > 0 AND first_day >= %(f0)s),
           COUNT(*) FILTER (WHERE n0 > 0 AND total0 >= 2), COUNT(*) FILTER (WHERE n0 > 0 AND n1 > 0),
           COUNT(*) FILTER (WHERE n1 > 0), COALESCE(SUM(n0), 0), ROUND(COALESCE(SUM(r0), 0)::numeric, 2),
           AVG(s.clv_historic) FILTER (WHERE n0 > 0),
           COUNT(*) FILTER (WHERE n1 > 0), COUNT(*) FILTER (WHERE n1 > 0 AND first_day >= %(f1)s),
           COUNT(*) FILTER (WHERE n1 > 0 AND total1 >= 2), COUNT(*) FILTER (WHERE n1 > 0 AND n2 > 0),
           COUNT(*) FILTER (WHERE n2 > 0), COALESCE(SUM(n1), 0), ROUND(COALESCE(SUM(r1), 0)::numeric, 2),
           (SELECT json_object_agg(COALESCE(segment_id, 0), revenue) FROM (
                SELECT s2.segment_id, ROUND(SUM(o.amount)::numeric, 2) AS revenue
                  FROM o LEFT JOIN ecrm_partner_score s2 ON s2.partner_id = o.partner_id
                                                         AND s2.company_id = %(company)s
                 WHERE o.day BETWEEN %(f0)s AND %(t0)s GROUP BY 1) seg)
      FROM p LEFT JOIN ecrm_partner_score s ON s.partner_id = p.partner_id AND s.company_id = %(company)s
"""

FLOOR_COHORT_SQL = f"""
    WITH o AS MATERIALIZED ({ORDERS}),
    f AS (SELECT partner_id, date_trunc('month', MIN(day))::date AS cohort FROM o WHERE day < %(end)s
           GROUP BY partner_id),
    m AS (SELECT * FROM f WHERE cohort >= %(first)s)
    SELECT m.cohort, ((EXTRACT(YEAR FROM o.day) - EXTRACT(YEAR FROM m.cohort)) * 12
                      + EXTRACT(MONTH FROM o.day) - EXTRACT(MONTH FROM m.cohort))::int,
           COUNT(DISTINCT o.partner_id), ROUND(SUM(o.amount)::numeric, 2),
           (SELECT COUNT(*) FROM m m2 WHERE m2.cohort = m.cohort)
      FROM o JOIN m ON m.partner_id = o.partner_id
     WHERE o.day < %(end)s
  GROUP BY 1, 2
"""


def say(message):
    print(f"[bench_analytics] {message}", flush=True)


def best_of(function, runs=RUNS):
    """(best seconds, last result) of ``runs`` calls."""
    best, result = None, None
    for _i in range(runs):
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def kpi_floor(cr, company_id, periods):
    (f0, t0), (f1, t1), (f2, t2) = periods
    cr.execute(FLOOR_KPI_SQL, {"company": company_id, "f0": f0, "t0": t0, "f1": f1, "t1": t1, "f2": f2, "t2": t2})
    return cr.fetchone()


def cohort_floor(cr, company_id, first, end):
    cr.execute(FLOOR_COHORT_SQL, {"company": company_id, "first": first, "end": end})
    return cr.fetchall()


def compare_kpis(board, floor):
    """The differences between the board's figures and the floor's."""
    kpis = {k["key"]: k for k in board["kpis"]}
    active, new, repeat, retained, base, orders, revenue, clv = floor[:8]
    p_active, p_new, p_repeat, p_retained, p_base, p_orders, p_revenue = floor[8:15]
    checks = {
        "active": (kpis["active_customers"]["value"], active),
        "new": (kpis["new_customers"]["value"], new),
        "repeat": (kpis["repeat_rate"]["value"], round(repeat / active, 4) if active else None),
        "retention": (kpis["retention_rate"]["value"], round(retained / base, 4) if base else None),
        "orders": (kpis["orders"]["value"], orders),
        "revenue": (round(kpis["revenue"]["value"], 0), round(float(revenue), 0)),
        "clv": (kpis["clv_historic"]["value"], round(float(clv), 2) if clv is not None else None),
        "previous active": (kpis["active_customers"]["previous"], p_active),
        "previous new": (kpis["new_customers"]["previous"], p_new),
        "previous repeat": (kpis["repeat_rate"]["previous"], round(p_repeat / p_active, 4) if p_active else None),
        "previous retention": (kpis["retention_rate"]["previous"], round(p_retained / p_base, 4) if p_base else None),
        "previous orders": (kpis["orders"]["previous"], p_orders),
        "previous revenue": (round(kpis["revenue"]["previous"], 0), round(float(p_revenue), 0)),
    }
    segments = {str(s["segment_id"] or 0): round(s["revenue"], 0) for s in board["segments"] if s["revenue"]}
    floor_segments = {k: round(float(v), 0) for k, v in (floor[15] or {}).items() if float(v)}
    checks["segments"] = (segments, floor_segments)
    return [name for name, (a, b) in checks.items() if a != b]


def compare_cohorts(matrix, floor):
    cells = {
        (c["cohort"], x["offset"]): (x["customers"], round(x["revenue"], 0), c["size"])
        for c in matrix["cohorts"]
        for x in c["cells"]
        if x["customers"]
    }
    expected = {
        (cohort.strftime("%Y-%m"), offset): (customers, round(float(revenue), 0), size)
        for cohort, offset, customers, revenue, size in floor
    }
    return sorted(set(cells.items()) ^ set(expected.items()))[:5]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--db", help="measure in this existing database (no data generated)")
    parser.add_argument("--template", help="copy this database (ecrm_segments installed) instead of installing")
    parser.add_argument("--keep-db", action="store_true", help="keep the generated database afterwards")
    args = parser.parse_args()
    db = args.db or f"analytics_bench_{args.size}"
    generated = not args.db

    if generated:
        subprocess.run(["dropdb", "--if-exists", db], check=False, capture_output=True)
        if args.template:
            subprocess.run(["createdb", "-T", args.template, db], check=True)
        else:
            install(db, "ecrm_segments")
    sys.path.insert(0, str(ODOO_SRC))
    from odoo.tools import config  # Odoo is found at run time

    config.parse_config(odoo_args(db), setup_logging=False)
    from bench_segments import generate

    from odoo import api
    from odoo.modules.registry import Registry
    from odoo.orm.utils import SUPERUSER_ID
    from odoo.sql_db import close_db

    registry = Registry(db)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.company
            if generated:
                start = time.perf_counter()
                customers, orders, cancelled = generate(env, SIZES[args.size])
                cr.commit()
                say(
                    f"generated {customers:,} customers, {orders:,} confirmed and {cancelled:,} cancelled orders "
                    f"in {time.perf_counter() - start:.1f}s"
                )
            cr.execute("SELECT 1 FROM ecrm_partner_score WHERE company_id = %s LIMIT 1", [company.id])
            if not cr.fetchone():
                say("no scores yet: recomputing them first (not timed)")
                env["ecrm.partner.score"]._recompute_company(company)
                cr.commit()
            # planner statistics, as autovacuum keeps them on a live database
            for table in ("res_partner", "sale_order", "ecrm_partner_score", "account_move_line"):
                cr.execute(f"ANALYZE {table}")
            cr.commit()
            cr.execute("SELECT COUNT(*) FROM sale_order WHERE state = 'sale' AND company_id = %s", [company.id])
            n_orders = cr.fetchone()[0]
            cr.execute("SELECT COUNT(*) FROM ecrm_partner_score WHERE company_id = %s", [company.id])
            n_customers = cr.fetchone()[0]
            env = env(context={"allowed_company_ids": company.ids})
            today = date.today()
            date_from, date_to = today - timedelta(days=89), today
            Kpi = env["ecrm.analysis.kpi"]
            periods = Kpi._get_periods(date_from, date_to)

            kpi_floor_s, kpi_floor_row = best_of(lambda: kpi_floor(cr, company.id, periods))
            kpi_s, board = best_of(lambda: Kpi.get_kpis(date_from, date_to))
            kpi_diff = compare_kpis(board, kpi_floor_row)

            Cohort = env["ecrm.analysis.cohort"]
            first = (today.replace(day=1) - timedelta(days=700)).replace(day=1)
            end = Cohort._next_month(today.replace(day=1))
            cohort_floor_s, cohort_rows = best_of(lambda: cohort_floor(cr, company.id, first, end))
            cohort_s, matrix = best_of(lambda: Cohort.get_cohorts(first, today))
            cohort_diff = compare_cohorts(matrix, cohort_rows)

            Trend = env["ecrm.analysis.trend"]
            trend_s, trends = best_of(
                lambda: Trend.get_trends(today - timedelta(days=3 * 365), today, grain="month", horizon=6), runs=1
            )
    finally:
        Registry.delete(db)
        close_db(db)
        if generated and not args.keep_db:
            subprocess.run(["dropdb", "--if-exists", db], check=False)

    kpi_ratio = kpi_s / kpi_floor_s
    cohort_ratio = cohort_s / cohort_floor_s
    print()
    print(f"ecrm_segments analytics benchmark, {db}: {n_customers:,} scored customers, {n_orders:,} confirmed orders")
    print(f"  KPI board floor: one SQL statement                 {kpi_floor_s:8.2f} s")
    print(
        f"  KPI board (get_kpis, 90 days vs the 90 before)     {kpi_s:8.2f} s   ratio {kpi_ratio:5.2f}x (target <= 3x)"
    )
    print(f"    figures equal to the floor's                     {'yes' if not kpi_diff else f'NO: {kpi_diff}'}")
    print(f"  cohort matrix floor: one SQL statement             {cohort_floor_s:8.2f} s")
    print(
        f"  cohort matrix (get_cohorts, {len(matrix['cohorts'])} cohorts)              {cohort_s:8.2f} s   "
        f"ratio {cohort_ratio:5.2f}x (target <= 3x)"
    )
    print(f"    cells equal to the floor's                       {'yes' if not cohort_diff else f'NO: {cohort_diff}'}")
    forecast = trends["forecast"]["revenue"]
    print(
        f"  trends + forecast (36 months, 6 ahead)             {trend_s:8.2f} s   "
        f"revenue backtest MAPE {forecast['mape']}, seasonal {forecast['seasonal']}"
    )
    ok = kpi_ratio <= 3 and cohort_ratio <= 3 and not kpi_diff and not cohort_diff
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
