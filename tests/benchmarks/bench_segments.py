"""Benchmark of ecrm_segments, with ratios against a floor measured in the same run.

    python bench_segments.py --size small|100k [--keep-db] [--db NAME]

Data: customers whose purchases follow the BG/NBD story (Poisson buying while alive,
dropping out after a purchase with a customer-specific probability) over three years,
written with COPY (5,000 customers / ~50,000 confirmed orders at ``small``, 100,000 /
~1,000,000 at ``100k``), plus cancelled orders that must not count.

1. Full recompute (RFM scores, segments with their history, lifecycle stages, CLV fit and
   predictions) of the company, first run on an empty score table, against the floor: one
   bare SQL statement aggregating the same orders (same filters, currency conversion and
   refund deduction) into the same per-customer scores (recency, frequency, monetary and the
   R/F/M quintiles), written into a table of the same shape. Target: <= 3x.
2. The second recompute on unchanged data (must write nothing), and the nightly recompute
   after a day has passed (every order one day older, 0.3% of the customers ordering again:
   every score row changes, a few customers change segment) against the floor re-measured
   on that data. Target: <= 3x. The first run (empty tables: every customer gets a history
   row and a segment on the contact) is printed too.
3. BG/NBD and Gamma-Gamma fits alone on the company's customers. Target: BG/NBD < 30 s at 100k.
4. Peak memory (max RSS) of this process, which runs Odoo. Target: < 2 GiB.

Settings: ECRM_ODOO_SRC (Odoo 19.0 source, default ~/.local/src/odoo-19.0) and the PG* variables.
"""

import argparse
import io
import resource
import subprocess
import sys
import time

import numpy as np
from benchlib import ODOO_SRC, install, odoo_args

SIZES = {"demo": 1_000, "small": 5_000, "100k": 100_000}
HORIZON_DAYS = 3 * 365


def say(message):
    print(f"[bench_segments] {message}", flush=True)


def simulate(customers, seed=42):
    """Purchase days (0 = three years ago) of each customer, following BG/NBD."""
    rng = np.random.default_rng(seed)
    birth = rng.uniform(0, HORIZON_DAYS - 1, customers)
    rate = rng.gamma(2.0, 1 / 70.0, customers)  # purchases per day while alive: mean 1 in 35 days
    dropout = rng.beta(0.8, 8.0, customers)  # chance of leaving after each purchase: mean 9%
    owner, day = [np.arange(customers)], [birth]
    t = birth.copy()
    alive = np.ones(customers, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / rate[idx])
        alive[idx] = t[idx] < HORIZON_DAYS
        idx = np.flatnonzero(alive)
        owner.append(idx)
        day.append(t[idx].copy())
        alive[idx] = rng.random(len(idx)) >= dropout[idx]
    return np.concatenate(owner), np.concatenate(day), rng


def copy_rows(cr, table, columns, rows):
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row))
        buffer.write("\n")
    buffer.seek(0)
    cr._obj.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def generate(env, customers):
    """Write the customers and their orders with COPY; returns (customers, confirmed, cancelled)."""
    cr = env.cr
    company = env.company
    owner, day, rng = simulate(customers)
    now = np.datetime64("now", "s")
    start = now - np.timedelta64(HORIZON_DAYS, "D")
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
        ],
        (
            (pid, f"Bench Customer {i}", f"Bench Customer {i}", "t", 1, 0, "contact", "ask", pid)
            for i, pid in enumerate(partner_ids)
        ),
    )
    # Gamma-Gamma spend: each customer's orders ~ Gamma(3, nu), nu ~ Gamma(4, 80): mean about 80
    nu = rng.gamma(4.0, 1 / 80.0, customers)
    amounts = np.round(rng.gamma(3.0, 1 / nu[owner]) + 1, 2)
    cancelled = rng.random(len(owner)) < 0.05
    dates = start + (day * 86400).astype("timedelta64[s]")
    cr.execute("SELECT id FROM res_currency WHERE id = %s", [company.currency_id.id])
    currency = cr.fetchone()[0]
    rows = (
        (
            f"B{i}",
            "cancel" if cancelled[i] else "sale",
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
        for i in range(len(owner))
    )
    copy_rows(
        cr,
        "sale_order",
        [
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
        ],
        rows,
    )
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE sale_order")
    env.invalidate_all()
    return customers, int((~cancelled).sum()), int(cancelled.sum())


def next_day(env):
    """Make a day pass: all orders one day older; 0.3% of the customers order again today."""
    cr = env.cr
    cr.execute("UPDATE sale_order SET date_order = date_order - interval '1 day'")
    cr.execute(
        """
        INSERT INTO sale_order (name, state, company_id, partner_id, partner_invoice_id, partner_shipping_id,
                                date_order, amount_untaxed, amount_total, amount_tax, currency_rate, currency_id, locked)
        SELECT 'N' || p.id, 'sale', %(company)s, p.id, p.id, p.id, now() at time zone 'UTC', 60, 60, 0, 1.0,
               %(currency)s, FALSE
          FROM res_partner p
         WHERE p.name LIKE 'Bench Customer %%' AND p.id %% 333 = 0
        """,
        {"company": env.company.id, "currency": env.company.currency_id.id},
    )
    count = cr.rowcount
    cr.execute("ANALYZE sale_order")
    cr.commit()
    return count


FLOOR_SQL = """
    INSERT INTO bench_floor_score (partner_id, company_id, frequency, first_order_date, last_order_date,
                                   recency_days, monetary, r_score, f_score, m_score)
    SELECT partner_id, %(company)s, frequency, first_date, last_date, recency, monetary,
           1 + 5 * (RANK() OVER (ORDER BY last_date) - 1) / COUNT(*) OVER (),
           1 + 5 * (RANK() OVER (ORDER BY frequency) - 1) / COUNT(*) OVER (),
           1 + 5 * (RANK() OVER (ORDER BY monetary) - 1) / COUNT(*) OVER ()
      FROM (
            SELECT cp.commercial_partner_id AS partner_id, COUNT(*) AS frequency,
                   MIN(so.date_order::date) AS first_date, MAX(so.date_order::date) AS last_date,
                   CURRENT_DATE - MAX(so.date_order::date) AS recency,
                   ROUND(SUM(so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0)
                             - COALESCE(rf.refunded, 0))::numeric, 2) AS monetary
              FROM sale_order so
              JOIN res_partner cp ON cp.id = so.partner_id
         LEFT JOIN (SELECT sol.order_id, SUM(aml.balance) AS refunded
                      FROM account_move_line aml
                      JOIN account_move am ON am.id = aml.move_id
                      JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                      JOIN sale_order_line sol ON sol.id = rel.order_line_id
                     WHERE am.move_type = 'out_refund' AND am.state = 'posted'
                  GROUP BY sol.order_id) rf ON rf.order_id = so.id
             WHERE so.company_id = %(company)s AND so.state = 'sale'
          GROUP BY cp.commercial_partner_id
           ) agg
    ON CONFLICT (partner_id, company_id) DO UPDATE
       SET frequency = EXCLUDED.frequency, first_order_date = EXCLUDED.first_order_date,
           last_order_date = EXCLUDED.last_order_date, recency_days = EXCLUDED.recency_days,
           monetary = EXCLUDED.monetary, r_score = EXCLUDED.r_score, f_score = EXCLUDED.f_score,
           m_score = EXCLUDED.m_score
"""


def measure_floor(cr, company_id, runs=2):
    """Best of ``runs`` executions of the floor statement into an emptied table."""
    cr.execute(
        """
        CREATE TABLE IF NOT EXISTS bench_floor_score (
            id serial PRIMARY KEY, partner_id int NOT NULL REFERENCES res_partner(id) ON DELETE CASCADE,
            company_id int NOT NULL REFERENCES res_company(id), frequency int, first_order_date date,
            last_order_date date, recency_days int, monetary numeric, r_score int, f_score int, m_score int,
            UNIQUE (partner_id, company_id))
        """
    )
    best = None
    for _ in range(runs):
        cr.execute("TRUNCATE bench_floor_score")
        cr.commit()
        start = time.perf_counter()
        cr.execute(FLOOR_SQL, {"company": company_id})
        cr.commit()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--db", help="database name (default: segments_bench_<size>)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a database kept by --keep-db (scores and history are reset)"
    )
    args = parser.parse_args()
    db = args.db or f"segments_bench_{args.size}"
    customers = SIZES[args.size]

    sys.path.insert(0, str(ODOO_SRC))

    if not args.reuse:
        subprocess.run(["dropdb", "--if-exists", db], check=False, capture_output=True)
        install(db, "ecrm_segments")
    from odoo.tools import config  # Odoo is found at run time

    config.parse_config(odoo_args(db), setup_logging=False)
    from odoo import api
    from odoo.modules.registry import Registry
    from odoo.orm.utils import SUPERUSER_ID
    from odoo.sql_db import close_db

    from odoo.addons.ecrm_segments.models import clv_models

    registry = Registry(db)
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            start = time.perf_counter()
            if args.reuse:
                cr.execute("TRUNCATE ecrm_partner_score, ecrm_segment_history")
                cr.execute("UPDATE res_partner SET ecrm_segment_id = NULL, ecrm_stage = NULL")
                cr.execute("UPDATE ecrm_config SET fit_digest = NULL")
                cr.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE state = 'sale') FROM sale_order")
                total, n_orders = cr.fetchone()
                n_customers, n_cancelled = customers, total - n_orders
            else:
                n_customers, n_orders, n_cancelled = generate(env, customers)
            cr.commit()
            say(
                f"generated {n_customers:,} customers, {n_orders:,} confirmed and {n_cancelled:,} cancelled orders "
                f"in {time.perf_counter() - start:.1f}s"
            )
            company = env.company
            env["ecrm.config"]._get_for_company(company)
            cr.commit()

            floor = measure_floor(cr, company.id)
            say(f"floor (one SQL statement: aggregate + quintiles + upsert): {floor:.2f}s")

            Score = env["ecrm.partner.score"]
            start = time.perf_counter()
            first = Score._recompute_company(company)
            cr.commit()
            full = time.perf_counter() - start
            second_start = time.perf_counter()
            second = Score._recompute_company(company)
            cr.commit()
            rerun = time.perf_counter() - second_start
            say("a day passes: every order one day older, 0.3% of the customers order again")
            new_orders = next_day(env)
            floor_next = measure_floor(cr, company.id)
            start = time.perf_counter()
            nightly = Score._recompute_company(company)
            cr.commit()
            nightly_seconds = time.perf_counter() - start
            config = env["ecrm.config"]._get_for_company(company)
            model_note = f"{config.clv_model} ({config.clv_model_note})"

            cr.execute(
                "SELECT order_days - 1, last_order_date - first_order_date, CURRENT_DATE - first_order_date, "
                "monetary / frequency FROM ecrm_partner_score WHERE company_id = %s",
                [company.id],
            )
            data = np.array(cr.fetchall(), dtype=float)
            start = time.perf_counter()
            bg = clv_models.fit_bgnbd(data[:, 0], data[:, 1], data[:, 2])
            bg_seconds = time.perf_counter() - start
            start = time.perf_counter()
            gg = clv_models.fit_gamma_gamma(data[:, 0], data[:, 3])
            gg_seconds = time.perf_counter() - start

            cr.execute(
                """SELECT COUNT(*) FROM bench_floor_score f JOIN ecrm_partner_score s USING (partner_id, company_id)
                    WHERE (f.frequency, f.monetary, f.recency_days, f.r_score, f.f_score, f.m_score)
                          IS DISTINCT FROM (s.frequency, s.monetary, s.recency_days, s.r_score, s.f_score, s.m_score)"""
            )
            mismatches = cr.fetchone()[0]
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MiB on Linux
    finally:
        Registry.delete(db)
        close_db(db)
        if not args.keep_db:
            subprocess.run(["dropdb", "--if-exists", db], check=False)

    print()
    print(f"ecrm_segments benchmark, size {args.size}: {n_customers:,} customers, {n_orders:,} confirmed orders")
    print(f"  floor: one SQL statement                      {floor:8.2f} s")
    print(
        f"  full recompute (RFM, segments, history, CLV)   {full:8.2f} s   ratio {full / floor:5.2f}x (target <= 3x)"
        f"   [{first['customers']:,} scored, {first['segment_changes']:,} history rows, model {first['clv_model']}]"
    )
    print(
        f"  second recompute, unchanged data               {rerun:8.2f} s   ratio {rerun / floor:5.2f}x"
        f"   [{second['rows_written']} rows written, {second['segment_changes']} history rows]"
    )
    print(
        f"  nightly recompute, a day later (+{new_orders} orders) {nightly_seconds:8.2f} s   ratio "
        f"{nightly_seconds / floor_next:5.2f}x (target <= 3x; floor re-measured: {floor_next:.2f} s)"
        f"   [{nightly['rows_written']:,} rows written, {nightly['segment_changes']:,} history rows]"
    )
    print(
        f"  BG/NBD fit                                     {bg_seconds:8.2f} s   (target < 30 s)  "
        f"r={bg['r']:.3f} alpha={bg['alpha']:.2f} a={bg['a']:.3f} b={bg['b']:.3f} LL={bg['log_likelihood']:.1f}"
    )
    print(
        f"  Gamma-Gamma fit                                {gg_seconds:8.2f} s   "
        f"p={gg['p']:.2f} q={gg['q']:.2f} gamma={gg['gamma']:.2f}"
    )
    print(
        f"  scores equal to the floor's                    {'yes' if not mismatches else f'NO ({mismatches} differ)'}"
    )
    print(f"  peak memory of the Odoo process                {peak:8.0f} MiB (target < 2048 MiB)")
    print(f"  CLV model in use: {model_note}")
    for label, run in (("first", first), ("nightly", nightly)):
        print(f"  {label} recompute by step: " + ", ".join(f"{k} {v:.2f}s" for k, v in run["timings"].items()))
    ok = (
        nightly_seconds / floor_next <= 3
        and peak < 2048
        and bg_seconds < 30
        and not mismatches
        and not second["rows_written"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
