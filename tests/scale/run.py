#!/usr/bin/env python3
"""Proof at scale: two Odoo servers on one database, kill -9 in the middle of every job, load
through HTTP JSON-RPC. Prints its figures; exits 1 on any discrepancy.

    python tests/scale/run.py [--ci] [--size small|medium] [--parts concurrent,crash,load]
                              [--pg-restart] [--keep] [--reuse-base] [--from-db DB]

``make scale`` runs the full variant (SIZE=medium: 20,000 customers / ~200,000 orders, every
crash point, the PostgreSQL restart, the load test up to 16 clients); ``make scale ARGS=--ci``
the CI one (the generator's demo size: 200 customers / ~2,000 orders, short load) that ``make test`` runs too. See tests/scale/README.md.
"""

import argparse
import concurrent.futures
import datetime
import faulthandler
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cluster  # noqa: E402
from cluster import JOBS, Server  # noqa: E402
from harness.server import odoo_src  # noqa: E402
from sink import SmtpSink  # noqa: E402

ROOT = HERE.parents[1]
JOB_NAMES = [name for name, _xmlid in JOBS]
# jobs killed in the crash runs (the mail queue is Odoo's: it is run, not killed)
CRASH_JOBS = [name for name in JOB_NAMES if name != "mail_queue"]
# jobs whose progress counts units (a company, a campaign) that the first batch does not finish
ONE_BATCH_FIRST = ("rfm_recompute", "campaign_enrol")
# what a job commits between two steps of its progress count: the recompute counts one unit per
# company but commits each company in steps (its scores, then each batch of customers), which
# the company's run_progress shows
STEP_SQL = {
    "rfm_recompute": "SELECT coalesce(sum(run_progress), 0) FROM ecrm_config WHERE run_state = 'running'",
}
STEP_NAME = {"rfm_recompute": "the company's run_progress"}
LOG_JOB_START = re.compile(
    r"^\S+ \S+ (?P<pid>\d+) INFO \S+ odoo\.addons\.base\.models\.ir_cron: Job '.*' \((?P<id>\d+)\) starting"
)


def say(message):
    print(f"[scale] {message}", flush=True)


class Run:
    """One database copy, its servers and its SMTP sink."""

    def __init__(self, base, name, workdir, servers=1):
        self.db = f"{base}_{name}"
        self.name = name
        cluster.clone_database(base, self.db)
        self.sink = SmtpSink(workdir / f"{name}-mails.jsonl").start()
        self.servers = [Server(self.db, f"{name}-{chr(65 + i)}", self.sink.port) for i in range(servers)]
        self.ids = cluster.cron_ids(self.db)
        self.outages = []  # (start, end) of PostgreSQL restarts, local time like Odoo's log

    def start(self):
        # the servers load their registries at the same time (each start costs seconds)
        with concurrent.futures.ThreadPoolExecutor(len(self.servers)) as pool:
            list(pool.map(Server.start, self.servers))
        return self

    def close(self, keep=False):
        for server in self.servers:
            server.stop()
        self.sink.stop()
        if not keep:
            cluster.drop_database(self.db)

    def errors(self):
        found = []
        for server in self.servers:
            for line in server.errors_in_log():
                # what Odoo logs while PostgreSQL restarts (lost connections, failed queries) is expected
                try:
                    stamp = datetime.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
                except ValueError:
                    stamp = None
                if stamp and any(start <= stamp <= end for start, end in self.outages):
                    continue
                # the crashes and the PostgreSQL restart make Odoo log lost connections: expected
                if any(s in line for s in EXPECTED_ERRORS):
                    continue
                found.append(f"{server.name}: {line}")
        return found

    def digest(self):
        return cluster.digest(self.db, self.sink.messages())

    def check(self, reference):
        """Differences against the reference digest and broken invariants."""
        problems = [
            f"{table}: {ref[0]} rows {ref[1]} in the reference run, {got[0] if got else '-'} rows"
            f" {got[1] if got else ''} here"
            for table, ref, got in cluster.compare(reference, self.digest())
        ]
        problems += cluster.invariants(self.db, self.sink.messages())
        problems += self.errors()
        return problems


EXPECTED_ERRORS = (
    "terminating connection due to administrator command",
    "server closed the connection unexpectedly",
    "connection already closed",
    "the database system is shutting down",
    "the database system is starting up",
    "could not connect to server",
    "Connection refused",
    "SSL SYSCALL error",
    "connection to server",
    "InterfaceError",
    "OperationalError",
    "Exception in cron:",
    "failed to acquire",
)


# ----------------------------------------------------------------------------- base database


def build_base(args):
    """The base database: the four addons, the generator's data, the scenario (each step skipped
    when it is there already, with --reuse-base)."""
    base = args.base_db or f"ecrm_scale_{args.size}"
    if not args.reuse_base:
        cluster.drop_database(base)
    conf = Server(base, "setup", 25).conf
    started = time.time()
    if not cluster.database_exists(base):
        if args.from_db:
            # the addons are installed there already (e.g. the test command's database, before its
            # end-to-end tests): a copy costs seconds, installing them minutes
            say(f"building {base}: a copy of {args.from_db} and the generator's {args.size} data")
            cluster.clone_database(args.from_db, base)
        else:
            say(f"building {base}: the four addons and the generator's {args.size} data")
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "tests/datagen/generate.py"),
                "--config",
                str(conf),
                "-d",
                base,
                "--size",
                args.size,
                *([] if args.from_db else ["--create"]),
            ],
            check=True,
        )
    if not cluster.query(base, "SELECT 1 FROM ir_config_parameter WHERE key = 'ecrm_scale.scenario'"):
        batch = args.batch or {"tiny": 5, "demo": 20, "small": 100}.get(args.size, 1000)
        subprocess.run(
            [
                sys.executable,
                str(HERE / "scenario.py"),
                "--config",
                str(conf),
                "-d",
                base,
                "--batch",
                str(batch),
                "--odoo-src",
                str(odoo_src()),
            ],
            check=True,
        )
    say(f"base database {base} ready in {time.time() - started:.0f} s")
    return base


# ----------------------------------------------------------------------------- part 1


def run_reference(base, workdir, keep):
    """One server, the jobs one after the other, nobody disturbing: the expected results."""
    run = Run(base, "reference", workdir).start()
    try:
        started = time.time()
        timings = {}
        for job in JOB_NAMES:
            t0 = cluster.now_utc(run.db)
            cluster.schedule_now(run.db, run.ids[job])
            timings[job] = cluster.wait_jobs(run.db, [job], t0, timeout=1800, servers=run.servers)
        t0 = cluster.now_utc(run.db)
        cluster.wait_jobs(run.db, JOB_NAMES, t0 - datetime.timedelta(hours=1), timeout=900, servers=run.servers)
        reference = run.digest()
        problems = cluster.invariants(run.db, run.sink.messages()) + run.errors()
        say(
            f"reference run (one server) in {time.time() - started:.0f} s: "
            + ", ".join(f"{job} {seconds:.1f}s" for job, seconds in timings.items())
        )
        say("reference digest: " + ", ".join(f"{t}={n}" for t, (n, _h) in reference.items()))
        if not reference["sink_mails"][0] or not reference["ledger"][0]:
            problems.append("the reference run sent no mail or wrote no ledger: the scenario is empty")
        return reference, problems
    finally:
        run.close(keep)


def run_concurrent(base, workdir, reference, keep):
    """Two servers; every job triggered on both at once (HTTP workers) while both cron workers race."""
    run = Run(base, "concurrent", workdir, servers=2).start()
    try:
        started = time.time()
        t0 = cluster.now_utc(run.db)
        for job in JOB_NAMES:
            cluster.schedule_now(run.db, run.ids[job])
        outcomes = cluster.direct_trigger_all(run.servers, run.db, JOB_NAMES)
        cluster.wait_jobs(run.db, JOB_NAMES, t0, timeout=1800, servers=run.servers)
        problems = [
            f"{server} {job}: {outcome}"
            for (server, job), outcome in outcomes.items()
            if outcome not in ("ran", "busy")
        ]
        problems += run.check(reference)
        ran = sum(1 for outcome in outcomes.values() if outcome == "ran")
        busy = sum(1 for outcome in outcomes.values() if outcome == "busy")
        say(
            f"two servers, {len(JOB_NAMES)} jobs triggered on both at once: {ran} direct runs, {busy} refused as"
            f" already running, all done in {time.time() - started:.0f} s; "
            + ("results equal the reference run" if not problems else f"{len(problems)} problem(s)")
        )
        return problems
    finally:
        run.close(keep)


# ----------------------------------------------------------------------------- part 2


def job_backends(db):
    """Connections to ``db`` holding a transaction id (rows written or locked, not committed yet).
    While one job runs alone: its cron lock (the ``ir_cron`` row) and, inside a batch, its cursor."""
    rows = cluster.query(
        db,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL"
        " AND pid != pg_backend_pid()",
        [db],
    )
    return rows[0][0]


def progress_done(db, cron_id, t0):
    rows = cluster.query(
        db,
        "SELECT done, remaining FROM ir_cron_progress WHERE cron_id = %s AND create_date >= %s ORDER BY id DESC LIMIT 1",
        [cron_id, t0],
    )
    return rows[0] if rows else (None, None)


def committed_steps(db, job, done):
    """What the job has committed so far, comparable between two polls: its progress count, then
    (for a job that commits one unit in several steps) the steps of the unit in hand."""
    step = cluster.query(db, STEP_SQL[job])[0][0] if job in STEP_SQL else 0
    return (done, step)


class JobWatcher:
    """Follows the servers' logs: which process (server, pid) last started a job."""

    def __init__(self, run, cron_id):
        self.run, self.cron_id = run, cron_id
        self.offsets = {s.name: s.log_path.stat().st_size for s in run.servers}
        self.current = None

    def poll(self):
        for server in self.run.servers:
            with open(server.log_path, "rb") as log:
                log.seek(self.offsets[server.name])
                data = log.read()
            data = data[: data.rfind(b"\n") + 1]  # whole lines only
            self.offsets[server.name] += len(data)
            for line in data.decode(errors="replace").splitlines():
                match = LOG_JOB_START.match(line)
                if match and int(match["id"]) == self.cron_id:
                    self.current = server, int(match["pid"])
        return self.current

    def wait(self, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.poll():
                return self.current
            time.sleep(0.02)
        raise TimeoutError(f"nobody started cron {self.cron_id}")


def crash_job(run, job, point, whole_server, t0):
    """Wait for ``point`` ("boundary": right after a batch was committed, before the next one
    writes; "inside": a batch has uncommitted writes) in ``job``, then kill -9 the process running
    it (or its whole server). Returns a description of what was hit."""
    cron_id = run.ids[job]
    watcher = JobWatcher(run, cron_id)
    cluster.schedule_now(run.db, cron_id)
    cluster.kick(run.servers[run.ids[job] % len(run.servers)], cron_id)
    watcher.wait()
    last_steps = None
    deadline = time.time() + 900
    checked = time.time()
    while time.time() < deadline:
        server, pid = watcher.poll()
        done, remaining = progress_done(run.db, cron_id, t0)
        writing = job_backends(run.db) >= 2  # the job's cursor has writes (the other: the cron lock)
        hit = False
        # inside: the job announced its work (its progress row is committed) and, when it has
        # several batches, committed at least one; its cursor has uncommitted writes now
        if point == "inside" and writing and done is not None and (done > 0 or (job in ONE_BATCH_FIRST and remaining)):
            hit = True
        elif point == "boundary" and done is not None:
            # boundary: a batch (or a step of the recompute) was committed since the last poll and
            # there is work left
            steps = committed_steps(run.db, job, done)
            hit = last_steps is not None and steps > last_steps and bool(remaining)
            last_steps = steps
        if hit:
            os.kill(pid, signal.SIGSTOP)  # freeze it, then make sure it is where we want it
            still = job_backends(run.db) >= 2
            if (point == "inside") == still:
                step = f", {STEP_NAME[job]} {last_steps[1]:g}" if point == "boundary" and job in STEP_SQL else ""
                where = f"{point} (done {done}, remaining {remaining}{step})"
                if whole_server:
                    server.kill()
                    say(f"  {job}: kill -9 of server {server.name} {where}")
                else:
                    os.kill(pid, signal.SIGKILL)
                    os.kill(pid, signal.SIGCONT)
                    say(f"  {job}: kill -9 of cron worker {pid} of {server.name} {where}")
                return server, where
            os.kill(pid, signal.SIGCONT)
        if time.time() - checked > 0.5:
            checked = time.time()
            if cluster.job_finished(run.db, job, cron_id, t0):
                say(f"  {job}: finished before a {point} point was seen")
                return None, f"finished before a {point} point was seen"
        time.sleep(0.005)
    raise TimeoutError(f"{job}: no {point} point within 900 s")


def restart_postgresql():
    clusters = sorted(os.listdir("/etc/postgresql"))
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", clusters[-1], "main", "restart"], check=True, timeout=300
    )


def pg_restart_job(run, job, t0):
    """Restart PostgreSQL while ``job`` has uncommitted writes."""
    cron_id = run.ids[job]
    watcher = JobWatcher(run, cron_id)
    cluster.schedule_now(run.db, cron_id)
    cluster.kick(run.servers[0], cron_id)
    watcher.wait()
    deadline = time.time() + 900
    while time.time() < deadline:
        watcher.poll()
        if job_backends(run.db) >= 2:
            done, remaining = progress_done(run.db, cron_id, t0)
            started = time.time()
            outage_start = datetime.datetime.now() - datetime.timedelta(seconds=2)
            restart_postgresql()
            run.outages.append((outage_start, datetime.datetime.now() + datetime.timedelta(seconds=30)))
            say(
                f"  {job}: PostgreSQL restarted inside a batch (done {done}, remaining {remaining}),"
                f" {time.time() - started:.0f} s"
            )
            return True
        if cluster.job_finished(run.db, job, cron_id, t0):
            return False
        time.sleep(0.01)
    return False


def run_crashes(base, workdir, reference, point, jobs, pg_restart_job_name, keep):
    """Two servers; each job in turn is killed at ``point``, then resumes; the end results must equal
    the reference run's."""
    run = Run(base, f"crash_{point}", workdir, servers=2)
    # a job waits for its turn: one job's end triggers the next (the enrolment triggers the
    # sending), which would otherwise run at once, before anything watches it to kill it
    held = [run.ids[job] for job in JOB_NAMES if job in jobs or job == pg_restart_job_name]
    cluster.query(run.db, "UPDATE ir_cron SET active = false WHERE id = ANY(%s)", [held])
    run.start()
    outcomes = {}
    missed = []  # a crash point not reached is a failure: the run would prove nothing about it
    try:
        started = time.time()
        t0 = cluster.now_utc(run.db)
        for index, job in enumerate(JOB_NAMES):
            cluster.query(run.db, "UPDATE ir_cron SET active = true WHERE id = %s", [run.ids[job]])
            job_t0 = cluster.now_utc(run.db)
            if job == pg_restart_job_name:
                hit = pg_restart_job(run, job, job_t0)
                outcomes[job] = "PostgreSQL restarted inside a batch" if hit else "finished before the restart"
                if not hit:
                    missed.append(f"{job}: PostgreSQL not restarted, the job finished first")
            elif job in jobs:
                whole = (index % 2 == 0) == (point == "boundary")
                killed, where = crash_job(run, job, point, whole, job_t0)
                outcomes[job] = ("server" if whole else "cron worker") + f" killed {where}" if killed else where
                if not killed:
                    missed.append(f"{job}: not killed, {where}")
                if killed and whole:
                    killed.start()  # the restarted server (same port, same database)
            else:
                cluster.schedule_now(run.db, run.ids[job])
            cluster.wait_jobs(run.db, [job], job_t0, timeout=1800, servers=run.servers)
        cluster.wait_jobs(run.db, JOB_NAMES, t0, timeout=900, servers=run.servers)
        problems = missed + run.check(reference)
        say(
            f"crash run '{point}' done in {time.time() - started:.0f} s: "
            + ("every job completed with the reference results" if not problems else f"{len(problems)} problem(s)")
        )
        return outcomes, problems
    finally:
        run.close(keep)


# ----------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ci", action="store_true", help="the CI variant (200 customers, no PostgreSQL restart, short load)"
    )
    parser.add_argument("--size", help="generator size (default: medium, demo with --ci)")
    parser.add_argument("--parts", default="concurrent,crash,load")
    parser.add_argument(
        "--pg-restart", action="store_true", help="restart PostgreSQL during one job (default: full run)"
    )
    parser.add_argument("--no-pg-restart", action="store_true")
    parser.add_argument(
        "--crash-points", default="inside,boundary", help="kill -9 runs to do (inside, boundary; comma-separated)"
    )
    parser.add_argument(
        "--compare", action="store_true", help="with --ci: measure the load without the addons too (overhead ratio)"
    )
    parser.add_argument("--batch", type=int, help="batch size of the jobs (default: 100 small, 1000 medium)")
    parser.add_argument("--base-db", help="name of the base database (default: ecrm_scale_<size>)")
    parser.add_argument("--reuse-base", action="store_true", help="reuse the base database if it exists")
    parser.add_argument(
        "--from-db",
        help="build the base database from a copy of this one (the four addons installed, no generated data)"
        " instead of installing the addons",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--load-clients", default=None, help="comma-separated concurrency levels")
    parser.add_argument("--load-seconds", type=float, default=None, help="seconds per concurrency level")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: where it waits  # stop the servers, drop the copies
    args.size = args.size or ("demo" if args.ci else "medium")
    pg_restart = (args.pg_restart or not args.ci) and not args.no_pg_restart
    parts = set(args.parts.split(","))
    if set(args.crash_points.split(",")) - {"inside", "boundary"}:
        parser.error("--crash-points: inside, boundary or both")
    workdir = Path(tempfile.mkdtemp(prefix="ecrm-scale-"))
    started = time.time()
    problems = []
    figures = {}

    base = build_base(args)
    try:
        if parts & {"concurrent", "crash"}:
            reference, found = run_reference(base, workdir, args.keep)
            problems += [f"reference: {p}" for p in found]
            if "concurrent" in parts:
                problems += [f"concurrent: {p}" for p in run_concurrent(base, workdir, reference, args.keep)]
            if "crash" in parts:
                # every job killed inside a batch, every job killed at a boundary; the PostgreSQL
                # restart in a run of its own, so that it replaces no kill
                points = [(point, CRASH_JOBS, None) for point in args.crash_points.split(",")]
                if pg_restart:
                    points.append(("pg_restart", [], "campaign_send"))
                for point, jobs, pg_job in points:
                    outcomes, found = run_crashes(base, workdir, reference, point, jobs, pg_job, args.keep)
                    figures[f"crash_{point}"] = outcomes
                    problems += [f"crash {point}: {p}" for p in found]
        if "load" in parts:
            import load

            clients = [int(c) for c in (args.load_clients or ("1,4" if args.ci else "1,4,8,16")).split(",")]
            seconds = args.load_seconds or (10 if args.ci else 45)
            # the comparison needs a second database without the addons: the full run only, or asked for
            compare = args.compare or not args.ci
            load_figures, found = load.run(
                workdir, clients, seconds, keep=args.keep, say=say, base=base, size=args.size, compare=compare
            )
            figures["load"] = load_figures
            problems += [f"load: {p}" for p in found]
    finally:
        if not args.keep and not args.reuse_base:
            cluster.drop_database(base)
            cluster.drop_database(f"{base}_core")

    print("\n=== scale figures ===", flush=True)
    print(json.dumps(figures, indent=2, default=str), flush=True)
    for problem in problems:
        print(f"FAILURE: {problem}", flush=True)
    say(f"{'FAILED' if problems else 'PASSED'}: {len(problems)} problem(s) in {time.time() - started:.0f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
