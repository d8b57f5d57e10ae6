"""Benchmark: the SLA escalation job over N open tickets vs a bare SQL pass over the same tickets.

Both sides start from the same N open tickets (bulk-inserted), of which a share is due for an
SLA warning and another share has breached its first-response deadline, and do the same work:
set the warning/breach flags, log a chatter note and schedule a to-do activity per ticket
handled, raise the priority of breached tickets.

- floor: three set-based SQL statements (UPDATE tickets, INSERT mail_message, INSERT
  mail_activity) in one transaction, rolled back afterwards;
- ecrm_helpdesk: ``ecrm.helpdesk.ticket._cron_sla_escalation()``, the scheduled action,
  which commits batch by batch (resumable).

Prints both times and the ratio job / SQL (target <= 3.0).

Usage: python tests/benchmarks/bench_helpdesk.py --size small|100k [--db NAME] [--keep]
The Odoo source is found through ECRM_ODOO_SRC (default ~/.local/src/odoo-19.0); PostgreSQL
through the standard PG* variables (default 127.0.0.1:5432, current role).
"""

import argparse
import os
import sys
import time
import warnings
from datetime import datetime

from benchlib import install, open_registry

SIZES = {"small": 2000, "100k": 100_000}


def insert_tickets(env, count, due_share):
    """Bulk-insert ``count`` open tickets; ``due_share`` of them to warn, as many breached."""
    from odoo.tools import SQL

    now = datetime.now().replace(microsecond=0)
    team = env["ecrm.helpdesk.team"].create({"name": "Bench Team", "leader_id": env.ref("base.user_admin").id})
    sla = env["ecrm.helpdesk.sla"].create(
        {
            "name": "Bench SLA",
            "team_ids": [(6, 0, team.ids)],
            "response_hours": 4,
            "resolution_hours": 40,
            "warning_hours": 1,
            "breach_notify": True,
            "breach_raise_priority": True,
        }
    )
    stage = team._get_first_stage()
    env.flush_all()
    warn_until = int(count * due_share)
    breach_until = int(count * due_share * 2)
    # ticket i: breached (response deadline passed), warned (within the warning hour) or not due
    env.cr.execute(
        SQL(
            """
            INSERT INTO ecrm_helpdesk_ticket (
                number, name, active, company_id, team_id, stage_id, is_closed, priority, channel,
                partner_email, date_open, create_date, write_date, create_uid, write_uid, sla_id,
                sla_response_deadline, sla_resolution_deadline, sla_response_warning_date,
                sla_resolution_warning_date, sla_response_warned, sla_resolution_warned,
                sla_response_breached, sla_resolution_breached, sla_response_status,
                sla_resolution_status, sla_status, sla_deadline, sla_next_action_date)
            SELECT 'B' || i, 'Bench ticket ' || i, TRUE, %(company)s, %(team)s, %(stage)s, FALSE, '1', 'email',
                   'c' || i || '@example.com', d.open_at, d.open_at, d.open_at, 1, 1, %(sla)s,
                   d.response, d.resolution, d.response - INTERVAL '1 hour', d.resolution - INTERVAL '1 hour',
                   FALSE, FALSE, FALSE, FALSE, 'running', 'running', 'running', d.response,
                   d.response - INTERVAL '1 hour'
              FROM generate_series(1, %(count)s) AS i,
                   LATERAL (
                       SELECT CASE WHEN i <= %(breach_until)s AND i > %(warn_until)s
                                   THEN %(now)s - INTERVAL '30 minutes'
                                   WHEN i <= %(warn_until)s THEN %(now)s + INTERVAL '30 minutes'
                                   ELSE %(now)s + INTERVAL '3 hours' + (i %% 500) * INTERVAL '1 minute'
                              END AS response,
                              %(now)s + INTERVAL '30 hours' AS resolution,
                              %(now)s - INTERVAL '5 hours' AS open_at
                   ) AS d
            """,
            company=team.company_id.id,
            team=team.id,
            stage=stage.id,
            sla=sla.id,
            count=count,
            warn_until=warn_until,
            breach_until=breach_until,
            now=now,
        )
    )
    env.cr.execute("ANALYZE ecrm_helpdesk_ticket")
    env.cr.commit()
    return team, breach_until


def sql_floor(env):
    """The same work as the job, as three set-based statements; returns (seconds, tickets handled)."""
    from odoo.tools import SQL

    cr = env.cr
    now = datetime.now()
    todo_type = env.ref("mail.mail_activity_data_todo").id
    model_id = env["ir.model"]._get_id("ecrm.helpdesk.ticket")
    note_subtype = env.ref("mail.mt_note").id
    start = time.perf_counter()
    cr.execute(
        SQL(
            """
            WITH todo AS (
                SELECT id, sla_response_deadline <= %(now)s AS breach
                  FROM ecrm_helpdesk_ticket
                 WHERE NOT is_closed AND sla_next_action_date <= %(now)s
            ), upd AS (
                UPDATE ecrm_helpdesk_ticket t
                   SET sla_response_warned = TRUE,
                       sla_response_breached = todo.breach,
                       priority = CASE WHEN todo.breach THEN '2' ELSE t.priority END,
                       sla_response_status = CASE WHEN todo.breach THEN 'failed' ELSE t.sla_response_status END,
                       sla_status = CASE WHEN todo.breach THEN 'failed' ELSE t.sla_status END,
                       sla_next_action_date = CASE WHEN todo.breach THEN t.sla_resolution_warning_date
                                                   ELSE t.sla_response_deadline END,
                       write_date = %(now)s
                  FROM todo WHERE t.id = todo.id
             RETURNING t.id, todo.breach
            ), msg AS (
                INSERT INTO mail_message (model, res_id, body, message_type, subtype_id, author_id,
                                          date, create_date, write_date, create_uid, write_uid)
                SELECT 'ecrm.helpdesk.ticket', upd.id,
                       CASE WHEN upd.breach THEN '<p>SLA breached</p>' ELSE '<p>SLA due soon</p>' END,
                       'notification', %(subtype)s, 2, %(now)s, %(now)s, %(now)s, 1, 1
                  FROM upd
             RETURNING res_id
            )
            INSERT INTO mail_activity (res_model_id, res_model, res_id, activity_type_id, user_id, summary,
                                       date_deadline, create_date, write_date, create_uid, write_uid, active)
            SELECT %(model_id)s, 'ecrm.helpdesk.ticket', msg.res_id, %(todo_type)s, 2, 'SLA', %(today)s,
                   %(now)s, %(now)s, 1, 1, TRUE
              FROM msg
            """,
            now=now,
            subtype=note_subtype,
            model_id=model_id,
            todo_type=todo_type,
            today=now.date(),
        )
    )
    handled = cr.rowcount
    elapsed = time.perf_counter() - start
    cr.rollback()
    return elapsed, handled


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--count", type=int, help="override the number of open tickets")
    parser.add_argument("--due", type=float, default=0.05, help="share of tickets to warn (as many breached)")
    parser.add_argument("--batch", type=int, default=1000, help="job batch size")
    parser.add_argument("--db", default=f"helpdesk_bench_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    count = args.count or SIZES[args.size]

    install(args.db, "ecrm_helpdesk")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    registry = open_registry(args.db)
    import odoo
    from odoo import api

    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
            _team, due = insert_tickets(env, count, args.due)
            print(f"[bench] {count} open tickets, {due} due for a warning or a breach", flush=True)
            # the floor is rolled back each time: keep its best of three runs
            floor_runs = [sql_floor(env) for _run in range(3)]
            floor_time, floor_handled = min(floor_runs)
            print(
                f"[bench] bare SQL pass: {floor_time:.3f} s, best of {len(floor_runs)} "
                f"({floor_handled} tickets handled)",
                flush=True,
            )

            Ticket = env["ecrm.helpdesk.ticket"]
            queries_before = cr.sql_log_count
            start = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):
                import cProfile

                cProfile.runctx(
                    "Ticket._cron_sla_escalation(batch_size=args.batch)",
                    globals(),
                    locals(),
                    os.environ["BENCH_PROFILE"],
                )
            else:
                Ticket._cron_sla_escalation(batch_size=args.batch)
            job_time = time.perf_counter() - start
            queries = cr.sql_log_count - queries_before
            env.invalidate_all()
            remaining = Ticket.search_count(Ticket._sla_todo_domain())
            warned = Ticket.search_count([("sla_response_warned", "=", True)])
            breached = Ticket.search_count([("sla_response_breached", "=", True)])
            print(
                f"[bench] escalation job: {job_time:.3f} s, {queries} queries, "
                f"{warned} warned, {breached} breached, {remaining} left to do",
                flush=True,
            )
            assert remaining == 0 and warned == due == floor_handled, "both sides must handle every due ticket"
            # a re-run finds nothing to do
            start = time.perf_counter()
            Ticket._cron_sla_escalation(batch_size=args.batch)
            rerun = time.perf_counter() - start
            print(f"[bench] re-run (nothing to do): {rerun:.3f} s", flush=True)
            ratio = job_time / floor_time
            print(
                f"[bench] ratio job / SQL = {ratio:.2f} (target <= 3.0) {'OK' if ratio <= 3.0 else 'ABOVE TARGET'}",
                flush=True,
            )
    finally:
        if not args.keep:
            from odoo.service import db as db_service

            odoo.sql_db.close_all()
            db_service.exp_drop(args.db)
            print(f"[bench] dropped {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
