#!/usr/bin/env python3
"""Benchmark of the data generator: a fresh database, one generation, timings and size, then the drop.

    python tests/benchmarks/bench_datagen.py --size small|medium|100k [--keep-db]

Prints the generator's time, its rows per second, the database size, and two ratios: the time against
the budget (10 minutes for 100k customers / 1M orders) and against a floor measured in the same run (a
plain COPY of as many narrow rows as the generator writes, into an unindexed table of the same database:
what no bulk load can beat on this machine).
"""

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
ADDONS = "ecrm_segments,ecrm_loyalty,ecrm_marketing,ecrm_helpdesk"
BUDGET_SECONDS = {"100k": 600}


def odoo_src():
    return Path(os.environ.get("ECRM_ODOO_SRC") or os.environ.get("ODOO_SRC") or Path.home() / ".local/src/odoo-19.0")


def pg_params(dbname):
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER") or os.environ.get("USER") or "root",
        "password": os.environ.get("PGPASSWORD"),
        "dbname": dbname,
    }


def write_config(workdir):
    conf = workdir / "odoo.conf"
    params = pg_params("postgres")
    conf.write_text(
        "[options]\n"
        f"addons_path = {ROOT / 'addons'},{odoo_src() / 'addons'}\n"
        f"data_dir = {workdir / 'data'}\n"
        f"db_host = {params['host']}\n"
        f"db_port = {params['port']}\n"
        f"db_user = {params['user']}\n"
        f"db_password = {params['password'] or ''}\n"
        "http_interface = 127.0.0.1\n"
    )
    return conf


def drop(db):
    conn = psycopg2.connect(**pg_params("postgres"))
    conn.autocommit = True
    with conn.cursor() as cr:
        cr.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (db,),
        )
        cr.execute(f'DROP DATABASE IF EXISTS "{db}"')  # our own name
    conn.close()


def copy_floor(db, rows):
    """Seconds to COPY ``rows`` narrow rows (4 integers, a timestamp) into an unindexed temporary table."""
    conn = psycopg2.connect(**pg_params(db))
    try:
        with conn.cursor() as cr:
            cr.execute("CREATE TEMP TABLE floor_rows (a int, b int, c int, d int, e timestamp)")
            buf = io.StringIO()
            buf.writelines(f"{i},{i % 997},{i % 13},{i % 101},2025-01-01 10:00:00\n" for i in range(rows))
            buf.seek(0)
            started = time.perf_counter()
            cr.copy_expert("COPY floor_rows FROM STDIN WITH (FORMAT csv)", buf)
            return time.perf_counter() - started
    finally:
        conn.rollback()
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="small", choices=["tiny", "demo", "small", "medium", "100k"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    db = f"bench_datagen_{args.size}_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="bench-datagen-"))
    conf = write_config(workdir)
    print(f"bench_datagen: size {args.size}, database {db}", flush=True)
    try:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(odoo_src() / "odoo-bin"), "-c", str(conf), "-d", db, "-i", ADDONS,
             "--stop-after-init", "--log-level", "warn"],
            check=True,
        )  # fmt: skip
        install = time.perf_counter() - started

        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/datagen/generate.py"), "--config", str(conf), "-d", db,
             "--size", args.size, "--seed", str(args.seed)],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        progress = []
        for line in proc.stderr:  # show the generator's progress as it comes
            sys.stderr.write(line)
            progress.append(line)
        returncode = proc.wait()
        seconds = time.perf_counter() - started
        stderr = "".join(progress)
        if returncode:
            print(f"bench_datagen: the generator failed (exit status {returncode})")
            return 1
        counts = {
            key: int(value.replace(",", ""))
            for key, value in re.findall(
                r"\b(customers|orders|lines) ([\d,]+)",
                stderr.split("summary:")[-1],
            )
        }
        rows = counts.get("customers", 0) + counts.get("orders", 0) + counts.get("lines", 0)
        conn = psycopg2.connect(**pg_params(db))
        with conn.cursor() as cr:
            cr.execute("SELECT pg_database_size(current_database())")
            size = cr.fetchone()[0]
        conn.close()
        floor = copy_floor(db, rows)

        print(f"install of the four addons: {install:.0f} s (not counted)")
        print(
            f"generator: {seconds:.1f} s for {counts.get('customers', 0):,} customers, "
            f"{counts.get('orders', 0):,} orders, {counts.get('lines', 0):,} lines "
            f"({rows / seconds:,.0f} rows/s)"
        )
        print(f"database size: {size / 2**20:,.0f} MiB")
        print(f"floor (plain COPY of {rows:,} narrow rows): {floor:.1f} s")
        print(f"ratio generator / floor: {seconds / floor:.1f}x")
        budget = BUDGET_SECONDS.get(args.size)
        if budget:
            verdict = "within" if seconds <= budget else "OVER"
            print(f"ratio generator / budget ({budget} s): {seconds / budget:.2f} ({verdict} budget)")
            return 0 if seconds <= budget else 1
        return 0
    finally:
        if not args.keep_db:
            drop(db)


if __name__ == "__main__":
    sys.exit(main())
