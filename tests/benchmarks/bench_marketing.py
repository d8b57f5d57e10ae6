"""Benchmark: enrolling N customers in a one-step email campaign vs Odoo's own mass mailing.

Both sides queue the same email (same QWeb body, one tracked link, unsubscribe link) to N
different customers of the same database, in the same run:

- floor: ``mailing.mailing.action_send_mail()`` on a mass mailing whose domain selects N
  customers (Odoo's composer in mass mode: mail.mail + mailing.trace per recipient);
- ecrm_marketing: ``ecrm.campaign.action_enrol`` of the N other customers, then the send
  engine (``ecrm.campaign.participant._advance_due``) which commits batch by batch.

Prints times, queries, peak memory growth, and the ratio campaign / mass mailing (target <= 1.0).

Usage: python tests/benchmarks/bench_marketing.py --size small|100k [--db NAME] [--keep]
The Odoo source is found through ECRM_ODOO_SRC (default ~/.local/src/odoo-19.0); PostgreSQL
through the standard PG* variables (default 127.0.0.1:5432, current role).
"""

import argparse
import os
import resource
import sys
import time
import warnings

from benchlib import install, open_registry

SIZES = {"small": 2000, "100k": 100_000}
BODY = (
    '<div><p>Hello <t t-out="object.name"/>,</p>'
    '<p>Our new collection is online: <a href="https://shop.example.com/new">see it</a>.</p>'
    '<p><a href="/unsubscribe_from_list">Unsubscribe</a></p></div>'
)


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def insert_customers(cr, prefix, count):
    """Bulk-insert ``count`` customers named ``prefix`` (who granted email consent); return their ids."""
    cr.execute(
        """
        INSERT INTO res_partner (name, complete_name, email, email_normalized, active, customer_rank,
                                 supplier_rank, type, lang, partner_share, is_company, autopost_bills,
                                 ecrm_consent_email, create_date, write_date, create_uid, write_uid)
        SELECT %(prefix)s || ' ' || g, %(prefix)s || ' ' || g, %(prefix)s || g || '@example.com',
               %(prefix)s || g || '@example.com', TRUE, 1, 0, 'contact', 'en_US', TRUE, FALSE, 'ask',
               'granted', now() - interval '1 day', now() - interval '1 day', 1, 1
          FROM generate_series(1, %(count)s) g
        RETURNING id
        """,
        {"prefix": prefix, "count": count},
    )
    ids = [row[0] for row in cr.fetchall()]
    cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", [ids])
    return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--count", type=int, help="override the number of recipients")
    parser.add_argument("--db", default=f"marketing_bench_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--batch", type=int, default=1000, help="campaign engine batch size")
    args = parser.parse_args()
    count = args.count or SIZES[args.size]

    install(args.db, "ecrm_marketing")
    registry = open_registry(args.db)
    # core code still calls deprecated helpers (e.g. the composer's progress notification); after
    # open_registry, whose logging set-up turns deprecation warnings back on
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import odoo  # importable once open_registry put ODOO_SRC on the path
    from odoo import api

    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
            env["ir.config_parameter"].set_param("ecrm_marketing.batch_size", args.batch)
            print(f"[bench] {count} recipients per side", flush=True)
            warm_peer = insert_customers(cr, "warmpeer", 50)
            warm_ecrm = insert_customers(cr, "warmecrm", 50)
            peer_ids = insert_customers(cr, "peer", count)
            ecrm_ids = insert_customers(cr, "ecrm", count)
            model_id = env["ir.model"]._get_id("res.partner")
            template = env["mail.template"].create(
                {
                    "name": "Bench",
                    "model_id": model_id,
                    "subject": "New collection",
                    "email_from": "shop@example.com",
                    "body_html": BODY,
                }
            )

            def make_mailing(name, email_prefix):
                return env["mailing.mailing"].create(
                    {
                        "name": name,
                        "subject": "New collection",
                        "email_from": "shop@example.com",
                        "body_html": BODY,
                        "body_arch": BODY,
                        "mailing_model_id": model_id,
                        "mailing_domain": repr([("email", "=like", f"{email_prefix}%@example.com")]),
                    }
                )

            def make_campaign(name):
                campaign = env["ecrm.campaign"].create(
                    {"name": name, "step_ids": [(0, 0, {"name": "Email", "mail_template_id": template.id})]}
                )
                campaign.action_activate()
                return campaign

            warm_mailing = make_mailing("warm", "warmpeer")
            peer_mailing = make_mailing("peer", "peer")
            warm_campaign = make_campaign("warm")
            campaign = make_campaign("bench")
            cr.commit()

            # warm-up of both paths (templates compiled, link trackers created)
            warm_mailing.action_send_mail()
            warm_campaign.action_enrol(warm_ecrm)
            env["ecrm.campaign.participant"]._advance_due(campaigns=warm_campaign)
            cr.commit()
            env.invalidate_all()

            # floor: Odoo's mass mailing
            rss0, q0, t0 = rss_mb(), cr.sql_log_count, time.perf_counter()
            peer_mailing.action_send_mail()
            cr.commit()
            peer_time, peer_queries, peer_rss = time.perf_counter() - t0, cr.sql_log_count - q0, rss_mb() - rss0
            env.invalidate_all()
            peer_mails = env["mailing.trace"].search_count([("mass_mailing_id", "=", peer_mailing.id)])

            # ecrm_marketing: enrol + queue
            rss0, q0, t0 = rss_mb(), cr.sql_log_count, time.perf_counter()
            campaign.action_enrol(ecrm_ids)
            cr.commit()
            enrol_time = time.perf_counter() - t0
            env["ecrm.campaign.participant"]._advance_due(campaigns=campaign)
            cr.commit()
            ecrm_time, ecrm_queries, ecrm_rss = time.perf_counter() - t0, cr.sql_log_count - q0, rss_mb() - rss0
            env.invalidate_all()
            ecrm_mails = env["mailing.trace"].search_count([("mass_mailing_id", "=", campaign.step_ids.mailing_id.id)])
            batches = -(-count // args.batch)

            print(
                f"[bench] mass mailing (floor): {peer_time:8.2f} s  {peer_queries:8d} queries  "
                f"{peer_mails} emails queued  peak RSS +{peer_rss:.0f} MB",
                flush=True,
            )
            print(
                f"[bench] campaign enrol+send : {ecrm_time:8.2f} s  {ecrm_queries:8d} queries  "
                f"{ecrm_mails} emails queued  peak RSS +{ecrm_rss:.0f} MB  "
                f"(enrol {enrol_time:.2f} s, {batches} batches of {args.batch} committed)",
                flush=True,
            )
            assert peer_mails == count and ecrm_mails == count, "both sides must queue every email"
            ratio = ecrm_time / peer_time
            print(
                f"[bench] ratio campaign / mass mailing = {ratio:.2f} (target <= 1.0) "
                f"{'OK' if ratio <= 1.0 else 'ABOVE TARGET'}",
                flush=True,
            )
            del warm_peer, peer_ids
    finally:
        if not args.keep:
            from odoo.service import db as db_service

            odoo.sql_db.close_all()
            db_service.exp_drop(args.db)
            print(f"[bench] dropped {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
