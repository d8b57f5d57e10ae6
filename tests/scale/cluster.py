"""Databases, multi-worker Odoo servers, the jobs under test and the digest of their results."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness.rpc import JsonRpc, RpcError  # noqa: E402
from harness.server import DATA_DIR, OdooServer  # noqa: E402

# the jobs, in the order of an undisturbed nightly run: (name, cron xml id)
JOBS = [
    ("rfm_recompute", "ecrm_segments.ir_cron_ecrm_recompute"),
    ("tag_rules", "ecrm_segments.ir_cron_ecrm_tag_rules"),
    ("loyalty_expiry", "ecrm_loyalty.ir_cron_ecrm_loyalty_expire"),
    ("sla_escalation", "ecrm_helpdesk.ir_cron_ecrm_helpdesk_sla"),
    ("campaign_enrol", "ecrm_marketing.ir_cron_ecrm_campaign_enrol"),
    ("campaign_send", "ecrm_marketing.ir_cron_ecrm_campaign_advance"),
    ("mail_queue", "mail.ir_cron_mail_scheduler_action"),
]
# work a job still has to do (0 once it is done); %(t0)s is when the round was triggered
PENDING_SQL = {
    "rfm_recompute": "SELECT count(*) FROM ecrm_config WHERE last_run_day IS NULL OR last_run_day < current_date",
    "tag_rules": "SELECT count(*) FROM ecrm_tag_rule WHERE active AND (last_run_date IS NULL OR last_run_date < %(t0)s)",
    "loyalty_expiry": "SELECT count(*) FROM ecrm_loyalty_lot WHERE state = 'available' AND remaining > 0"
    " AND expiry_date < current_date",
    "sla_escalation": "SELECT count(*) FROM ecrm_helpdesk_ticket WHERE NOT is_closed AND sla_next_action_date <= now()",
    # enrolment leaves no trace of what is left: done once a run started after t0 finished
    "campaign_enrol": None,
    "campaign_send": "SELECT count(*) FROM ecrm_campaign_participant p JOIN ecrm_campaign c ON c.id = p.campaign_id"
    " WHERE p.state = 'running' AND p.next_action_date <= now() AND c.state = 'running'",
    "mail_queue": "SELECT count(*) FROM mail_mail WHERE state = 'outgoing'",
}
# the result tables, as rows of natural keys (no ids of rows the jobs create, no timestamps)
DIGEST_SQL = {
    "scores": """SELECT partner_id, company_id, frequency, recency_days, monetary::numeric(16,2), r_score, f_score,
                        m_score, rfm_code, segment_id, stage, clv_model, clv_band,
                        round(clv_simple::numeric, 2), round(clv_predicted::numeric, 2),
                        round(churn_risk::numeric, 4)
                   FROM ecrm_partner_score""",
    "partner_segments": "SELECT partner_id, company_id, segment_id, stage FROM ecrm_segment_member",
    "segment_history": "SELECT partner_id, segment_from_id, segment_to_id, company_id FROM ecrm_segment_history",
    "tag_rel": "SELECT partner_id, category_id FROM res_partner_res_partner_category_rel",
    "tag_links": "SELECT rule_id, partner_id FROM ecrm_tag_rule_link",
    "ledger": "SELECT kind, date, card_id, lot_id, points, value::numeric(16,4), pending_points FROM ecrm_loyalty_ledger",
    "lots": "SELECT id, state, remaining, expired_points FROM ecrm_loyalty_lot",
    "cards": "SELECT id, points FROM loyalty_card",
    "loyalty_moves": """SELECT count(*), sum(aml.debit)::numeric(16,2), sum(aml.credit)::numeric(16,2)
                          FROM account_move_line aml JOIN account_move am ON am.id = aml.move_id
                         WHERE am.move_type = 'entry'""",
    "participants": "SELECT campaign_id, partner_id, enrolment_key, state, current_step_id, exit_reason"
    " FROM ecrm_campaign_participant",
    "sends": "SELECT campaign_id, step_id, partner_id, channel, state, reason FROM ecrm_campaign_send",
    "traces": "SELECT model, res_id, trace_status, email FROM mailing_trace",
    "mail_left": "SELECT state, count(*) FROM mail_mail GROUP BY state",
    "tickets": """SELECT id, priority, user_id, sla_response_warned, sla_resolution_warned, sla_response_breached,
                         sla_resolution_breached, sla_status, sla_next_action_date FROM ecrm_helpdesk_ticket""",
    "ticket_notes": """SELECT res_id, body FROM mail_message WHERE model = 'ecrm.helpdesk.ticket'""",
    "ticket_activities": """SELECT res_id, user_id, summary, date_deadline FROM mail_activity
                             WHERE res_model = 'ecrm.helpdesk.ticket'""",
}


def pg_params(dbname="postgres"):
    return {
        "host": os.environ.get("PGHOST", "127.0.0.1"),
        "port": os.environ.get("PGPORT", "5432"),
        "user": os.environ.get("PGUSER") or os.environ.get("USER") or "root",
        "password": os.environ.get("PGPASSWORD"),
        "dbname": dbname,
    }


def connect(db, autocommit=True):
    """A psycopg2 connection; retried while PostgreSQL restarts."""
    deadline = time.time() + 120
    while True:
        try:
            conn = psycopg2.connect(**pg_params(db))
            conn.autocommit = autocommit
            return conn
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(1)


_connections = {}


def query(db, sql, params=None):
    """Rows of ``sql`` on ``db``, on a kept connection that is opened again after a PostgreSQL restart."""
    for attempt in range(60):
        conn = _connections.get(db)
        try:
            if conn is None or conn.closed:
                conn = _connections[db] = connect(db)
            with conn.cursor() as cr:
                cr.execute(sql, params)
                return cr.fetchall() if cr.description else []
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            close(db)
            if attempt == 59:
                raise
            time.sleep(1)
    return []


def close(db):
    conn = _connections.pop(db, None)
    if conn is not None:
        try:
            conn.close()
        except psycopg2.Error:
            pass


def database_exists(db):
    return bool(query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [db]))


def drop_database(db):
    close(db)
    query("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [db])
    query("postgres", f'DROP DATABASE IF EXISTS "{db}"')
    subprocess.run(["rm", "-rf", str(DATA_DIR / "filestore" / db)], check=False)


def clone_database(template, db):
    """``db`` as a copy of ``template`` (and its filestore)."""
    drop_database(db)
    close(template)
    for attempt in range(30):
        try:
            query("postgres", f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
            break
        except psycopg2.errors.ObjectInUse:
            if attempt == 29:
                raise
            time.sleep(2)  # a process of ours that used the template is still closing
    source = DATA_DIR / "filestore" / template
    if source.exists():
        subprocess.run(["cp", "-a", str(source), str(DATA_DIR / "filestore" / db)], check=True)


class Server(OdooServer):
    """A multi-worker Odoo server with a cron worker, sending mail to the sink; killable with kill -9."""

    def __init__(self, db, name, smtp_port, workers=2, crons=1, extra_args=()):
        args = [
            "--max-cron-threads",
            str(crons),
            "--smtp",
            "127.0.0.1",
            "--smtp-port",
            str(smtp_port),
            "--limit-time-real",
            "1200",
            "--limit-time-cpu",
            "900",
            "--limit-time-real-cron",
            "0",
            "--db_maxconn",
            "32",
            *extra_args,
        ]
        super().__init__(db, workers=workers, extra_args=args)
        self.name = name

    def start(self, timeout=240):
        # the parent's start() passes --max-cron-threads 0 first; ours comes later and wins
        env = dict(os.environ, ODOO_NOTIFY_CRON_CHANGES="1")
        args = ["--workers", str(self.workers), "--log-level", "info", *self.extra_args]
        self.proc = subprocess.Popen(
            self.command(*args),
            stdout=open(self.log_path, "a"),
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        deadline = time.time() + timeout
        import requests

        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Odoo {self.name} exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.url}/web/health", timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.kill()
        raise RuntimeError(f"Odoo {self.name} did not answer within {timeout}s; log:\n{self.log_tail()}")

    def pids(self):
        """The master and its workers."""
        if not self.proc:
            return []
        out = subprocess.run(["pgrep", "-s", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def kill(self):
        """kill -9 of the whole server (master and workers)."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def rpc(self):
        return JsonRpc(self.url, self.db, "admin", "admin", timeout=1500)


def cron_ids(db):
    rows = query(
        db,
        "SELECT d.module || '.' || d.name, d.res_id FROM ir_model_data d WHERE d.model = 'ir.cron'"
        " AND d.module || '.' || d.name = ANY(%s)",
        [[xmlid for _name, xmlid in JOBS]],
    )
    found = dict(rows)
    return {name: found[xmlid] for name, xmlid in JOBS}


def schedule_now(db, cron_id):
    """What the scheduler does at the job's time: nextcall now, cron workers woken."""
    query(db, "UPDATE ir_cron SET nextcall = now() at time zone 'UTC' WHERE id = %s", [cron_id])
    query("postgres", "SELECT pg_notify('cron_trigger', %s)", [db])


def cron_busy(db, cron_id):
    """True while a process holds the job's lock (it is running)."""
    conn = connect(db, autocommit=False)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT id FROM ir_cron WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", [cron_id])
            return not cr.fetchall()
    finally:
        conn.rollback()
        conn.close()


def pending(db, job, t0):
    sql = PENDING_SQL[job]
    if sql is None:
        return 0
    return query(db, sql, {"t0": t0})[0][0]


def job_finished(db, job, cron_id, t0):
    """Done: no work left, not running, not rescheduled asap, and one run since t0 reported nothing remaining."""
    if pending(db, job, t0) or cron_busy(db, cron_id):
        return False
    rows = query(
        db,
        """SELECT (SELECT nextcall > now() at time zone 'UTC' FROM ir_cron WHERE id = %(id)s),
                  (SELECT count(*) FROM ir_cron_trigger WHERE cron_id = %(id)s AND call_at <= now() at time zone 'UTC'),
                  (SELECT remaining FROM ir_cron_progress WHERE cron_id = %(id)s AND create_date >= %(t0)s
                    ORDER BY id DESC LIMIT 1)""",
        {"id": cron_id, "t0": t0},
    )
    later, triggers, remaining = rows[0]
    return bool(later) and not triggers and remaining == 0


def now_utc(db):
    return query(db, "SELECT now() at time zone 'UTC'")[0][0]


_kicks = {}


def kick(server, cron_id):
    """Run the job now on ``server`` (``method_direct_trigger`` in one of its HTTP workers), in the
    background: what an operator's *Run Manually* or the job's next due time does. Errors (the job
    held elsewhere, a worker killed under it) are for the caller's checks to find."""

    def call():
        try:
            server.rpc().execute("ir.cron", "method_direct_trigger", [cron_id])
        except Exception:
            pass

    _kicks[cron_id] = time.time()
    threading.Thread(target=call, daemon=True).start()


def wait_jobs(db, jobs, t0, timeout, servers=(), poll=0.25):
    """Wait until every job is finished. A job that is due or has work left while nobody runs it is
    started on one of ``servers`` (in turn), as its next due time would in production (e.g.
    customers enrolled after the sending job ran, a job whose process was killed). Returns the
    seconds waited."""
    ids = cron_ids(db)
    started = time.time()
    turn = 0
    while True:
        left = [job for job in jobs if not job_finished(db, job, ids[job], t0)]
        if not left:
            return time.time() - started
        if time.time() - started > timeout:
            states = {job: (pending(db, job, t0), cron_busy(db, ids[job])) for job in left}
            raise TimeoutError(f"jobs not finished after {timeout}s: {states}")
        for server in servers:
            if server.proc and server.proc.poll() is not None and not getattr(server, "down", False):
                # the process supervisor's job (systemd Restart=always): Odoo's prefork master
                # exits when PostgreSQL goes away ("Stopping forcefully")
                server.start()
        live = [s for s in servers if s.proc and s.proc.poll() is None]
        for job in left:
            if not live or time.time() - _kicks.get(ids[job], 0) < 3 or cron_busy(db, ids[job]):
                continue
            due = query(db, "SELECT nextcall <= now() at time zone 'UTC' FROM ir_cron WHERE id = %s", [ids[job]])
            if due[0][0] or pending(db, job, t0):
                if not cron_busy(db, ids[job]) and not job_finished(db, job, ids[job], t0):
                    kick(live[turn % len(live)], ids[job])
                    turn += 1
        time.sleep(poll)


def direct_trigger_all(servers, db, jobs):
    """Every job triggered on every server at the same moment (method_direct_trigger over JSON-RPC).

    Returns {(server, job): outcome}: "ran", "busy" (the other server held the job) or an error."""
    ids = cron_ids(db)
    clients = {server.name: server.rpc() for server in servers}
    outcomes = {}
    barrier = threading.Barrier(len(servers) * len(jobs))

    def fire(server, job):
        barrier.wait()
        try:
            result = clients[server.name].execute("ir.cron", "method_direct_trigger", [ids[job]])
            outcomes[server.name, job] = "ran" if result is True else f"error: {result}"
        except RpcError as error:
            outcomes[server.name, job] = "busy" if "already executing" in str(error) else f"error: {error}"
        except Exception as error:
            outcomes[server.name, job] = f"error: {type(error).__name__}: {error}"

    threads = [threading.Thread(target=fire, args=(s, j)) for s in servers for j in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def digest(db, sink_messages):
    """{table: (rows, sha256)} of the result tables and of the mails in the sink."""
    result = {}
    for name, sql in DIGEST_SQL.items():
        rows = sorted(repr(row) for row in query(db, sql))
        result[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
    mails = sorted(repr((m["to"], m["subject"])) for m in sink_messages)
    result["sink_mails"] = (len(mails), hashlib.sha256("\n".join(mails).encode()).hexdigest()[:16])
    return result


def invariants(db, sink_messages):
    """What must hold after any run: problems found (empty list when all is well)."""
    problems = []
    ids = [m["message_id"] for m in sink_messages]
    dupes = len(ids) - len(set(ids))
    if dupes:
        problems.append(f"{dupes} message(s) received twice by the SMTP sink")
    if "" in ids:
        problems.append("a message without Message-Id")
    sends = query(db, "SELECT count(*) FROM ecrm_campaign_send WHERE channel = 'email'")[0][0]
    if sends != len(sink_messages):
        problems.append(f"{sends} email sends recorded but {len(sink_messages)} messages in the sink")
    dup_sends = query(
        db,
        "SELECT count(*) FROM (SELECT 1 FROM ecrm_campaign_send GROUP BY campaign_id, step_id, partner_id,"
        " participant_id HAVING count(*) > 1) x",
    )[0][0]
    if dup_sends:
        problems.append(f"{dup_sends} (campaign, step, customer) sent twice")
    dup_expire = query(
        db,
        "SELECT count(*) FROM (SELECT lot_id FROM ecrm_loyalty_ledger WHERE kind = 'expire'"
        " GROUP BY lot_id HAVING count(*) > 1) x",
    )[0][0]
    if dup_expire:
        problems.append(f"{dup_expire} lot(s) expired twice in the ledger")
    drift = query(
        db,
        """SELECT count(*) FROM loyalty_card c
             LEFT JOIN (SELECT card_id, sum(points) AS points FROM ecrm_loyalty_ledger GROUP BY card_id) l
                    ON l.card_id = c.id
            WHERE c.program_id IN (SELECT id FROM loyalty_program WHERE ecrm_ledger)
              AND abs(c.points - coalesce(l.points, 0)) > 0.001""",
    )[0][0]
    if drift:
        problems.append(f"{drift} loyalty card(s) whose balance differs from their ledger")
    overdrawn = query(db, "SELECT count(*) FROM loyalty_card WHERE points < 0")[0][0]
    if overdrawn:
        problems.append(f"{overdrawn} loyalty card(s) overdrawn")
    return problems


def compare(reference, other):
    """Tables whose digest differs: [(table, reference (rows, sha), other (rows, sha))]."""
    return [(table, reference[table], other.get(table)) for table in reference if reference[table] != other.get(table)]
