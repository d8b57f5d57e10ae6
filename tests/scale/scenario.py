"""Give every scheduled job of the addons work to do, on a database with the generator's data.

    python scenario.py --config odoo.conf -d DB [--batch N]

Run once on the base database; every run of the scale test starts from a copy of it, so the
reference run and the disturbed runs start from the same rows (same ids). What it sets up:

- email consent granted for every customer with an email address;
- four tag rules (orders, spend, language, discounted share) that depend only on the orders;
- a loyalty programme with a card per customer and three earned lots each over two years,
  about half of them past their expiry date (the expiry job's work);
- two running "inactive customer" campaigns with one email step each (no customer's last order within
  two days of their thresholds, so runs minutes apart enrol the same customers);
- a helpdesk team, an SLA policy and open tickets: a third breached, a third due for a warning,
  a third not due for hours;
- the campaigns' audience limited to the first 250 customers (the mail queue is Odoo's, and slow);
- the jobs' batch sizes lowered to ``--batch`` (the sending job's to a fifth of it, at most a tenth
  of its audience) so that every job commits several batches;
- every other scheduled action pushed a year ahead, so that only the jobs under test run.
"""

import argparse
import sys
import warnings
from pathlib import Path

# two win-back campaigns (two batches of the enrolment job): customers inactive for these many days
INACTIVITY_DAYS = (120, 365)
AUDIENCE = 250
TEMPLATE_BODY = (
    '<div><p>Hello <t t-out="object.name"/>,</p><p>We miss you: <a href="https://shop.example.com/">'
    "see what is new</a>.</p></div>"
)
# xml id -> server action code (batch size filled in)
JOB_CODE = {
    "ecrm_loyalty.ir_cron_ecrm_loyalty_expire": "model._cron_expire(batch_size={batch})",
    "ecrm_helpdesk.ir_cron_ecrm_helpdesk_sla": "model._cron_sla_escalation(batch_size={batch})",
}


def setup(env, batch):
    from odoo.fields import Command
    from odoo.tools import SQL

    cr = env.cr
    company = env.company
    cr.execute("UPDATE res_partner SET ecrm_consent_email = 'granted' WHERE customer_rank > 0 AND email IS NOT NULL")
    env.invalidate_all()

    # --- tag rules: only order-based conditions (no dependency on the other jobs)
    Tag = env["res.partner.category"]
    rules = [
        {"name": "Frequent buyer", "min_orders": 12},
        {"name": "Big spender", "min_spend": 2500.0},
        {"name": "Chinese speaker", "partner_domain": "[('lang', '=', 'zh_CN')]"},
        {"name": "Deal hunter", "min_discount_share": 30.0},
    ]
    for rule in rules:
        rule["tag_id"] = Tag.create({"name": f"Scale {rule['name']}"}).id
    env["ecrm.tag.rule"].create(rules)

    # --- loyalty: a card per customer, three lots each, about half expired
    program = env["loyalty.program"].create(
        {"name": "Scale Club", "program_type": "loyalty", "trigger": "auto", "ecrm_ledger": True}
    )
    cr.execute("SELECT id FROM res_partner WHERE customer_rank > 0 AND active ORDER BY id")
    partner_ids = [row[0] for row in cr.fetchall()]
    cards = env["loyalty.card"].create([{"program_id": program.id, "partner_id": pid} for pid in partner_ids])
    env.flush_all()
    tiers = env["ecrm.loyalty.tier"].search([])
    cr.execute(
        SQL(
            """
            INSERT INTO ecrm_loyalty_lot (card_id, program_id, partner_id, company_id, tier_id, date, available_date,
                                          expiry_date, points, remaining, pending_points, reversed_points,
                                          expired_points, point_value, state, expiring_notified)
            SELECT c.id, %(program)s, c.partner_id, %(company)s,
                   (%(tiers)s::int[])[1 + (c.id + g) %% array_length(%(tiers)s::int[], 1)],
                   d, d, d + interval '12 months', 50 + (c.id * 7 + g * 13) %% 200, 50 + (c.id * 7 + g * 13) %% 200,
                   0, 0, 0, 0.01, 'available', true
              FROM loyalty_card c
             CROSS JOIN generate_series(0, 2) AS g
             CROSS JOIN LATERAL (
                   SELECT (current_date - interval '730 days' + ((c.id * 37 + g * 241) %% 700) * interval '1 day')::date
                          AS d) dd
             WHERE c.program_id = %(program)s;
            INSERT INTO ecrm_loyalty_ledger (kind, date, card_id, program_id, partner_id, company_id, lot_id, tier_id,
                                             points, pending_points, shortfall_points, currency_id, value, expiry_date)
            SELECT 'earn', l.date, l.card_id, l.program_id, l.partner_id, l.company_id, l.id, l.tier_id,
                   l.points, 0, 0, %(currency)s, l.points * l.point_value, l.expiry_date
              FROM ecrm_loyalty_lot l WHERE l.program_id = %(program)s;
            UPDATE loyalty_card c SET points = s.points
              FROM (SELECT card_id, sum(points) AS points FROM ecrm_loyalty_ledger
                     WHERE program_id = %(program)s GROUP BY card_id) s
             WHERE s.card_id = c.id;
            """,
            program=program.id,
            company=company.id,
            currency=company.currency_id.id,
            tiers=list(tiers.ids) or [None],
        )
    )
    del cards

    # --- campaigns: inactive customers, one email; keep every last order 2+ days off the thresholds
    for days in INACTIVITY_DAYS:
        cr.execute(
            """
            WITH last AS (SELECT partner_id FROM sale_order WHERE state = 'sale' GROUP BY partner_id
                          HAVING MAX(date_order) BETWEEN now() - %(days)s * interval '1 day' - interval '2 days'
                                                     AND now() - %(days)s * interval '1 day' + interval '2 days')
            UPDATE sale_order so SET date_order = so.date_order - interval '5 days'
              FROM last
             WHERE so.partner_id = last.partner_id
               AND so.date_order BETWEEN now() - %(days)s * interval '1 day' - interval '2 days'
                                     AND now() - %(days)s * interval '1 day' + interval '2 days'
            """,
            {"days": days},
        )
    template = env["mail.template"].create(
        {
            "name": "Scale: we miss you",
            "model_id": env["ir.model"]._get_id("res.partner"),
            "subject": "We miss you, {{ object.name }}",
            "email_from": "shop@example.com",
            "body_html": TEMPLATE_BODY,
        }
    )
    # the campaigns' audience: the first AUDIENCE customers (Odoo's mail queue sends a few mails a
    # second on a shared machine; the jobs' logic is the same for 200 recipients or 200,000)
    audience_max_id = partner_ids[min(AUDIENCE, len(partner_ids)) - 1]
    campaigns = env["ecrm.campaign"]
    for days in INACTIVITY_DAYS:
        campaigns |= env["ecrm.campaign"].create(
            {
                "name": f"Scale: win back after {days} days",
                "trigger": "inactivity",
                "trigger_days": days,
                "domain": repr([("id", "<=", audience_max_id)]),
                "step_ids": [Command.create({"name": f"We miss you ({days} days)", "mail_template_id": template.id})],
            }
        )
    campaigns.action_activate()
    # the sending job commits about ten batches or more whatever the size (its audience is
    # AUDIENCE customers): one batch boundary or two are over in milliseconds, too soon to be hit
    env["ir.config_parameter"].set_param("ecrm_marketing.batch_size", max(min(batch // 5, AUDIENCE // 10), 10))
    env["ir.config_parameter"].set_param("ecrm_scale.scenario", batch)

    # --- helpdesk: open tickets, a third breached, a third to warn, a third not due
    team = env["ecrm.helpdesk.team"].create({"name": "Scale Support", "leader_id": env.ref("base.user_admin").id})
    sla = env["ecrm.helpdesk.sla"].create(
        {
            "name": "Scale SLA",
            "team_ids": [Command.set(team.ids)],
            "response_hours": 8,
            "resolution_hours": 80,
            "warning_hours": 7,
            "breach_notify": True,
            "breach_raise_priority": True,
        }
    )
    stage = team._get_first_stage()
    env.flush_all()
    tickets = max(len(partner_ids) // 4, 30)
    cr.execute(
        SQL(
            """
            INSERT INTO ecrm_helpdesk_ticket (
                number, name, active, company_id, team_id, stage_id, is_closed, priority, channel, partner_id,
                partner_email, date_open, create_date, write_date, create_uid, write_uid, sla_id,
                sla_response_deadline, sla_resolution_deadline, sla_response_warning_date,
                sla_resolution_warning_date, sla_response_warned, sla_resolution_warned,
                sla_response_breached, sla_resolution_breached, sla_response_status,
                sla_resolution_status, sla_status, sla_deadline, sla_next_action_date)
            SELECT 'SC' || i, 'Scale ticket ' || i, TRUE, %(company)s, %(team)s, %(stage)s, FALSE, '1', 'email',
                   (%(partners)s::int[])[1 + i %% array_length(%(partners)s::int[], 1)],
                   'c' || i || '@example.com', d.open_at, d.open_at, d.open_at, 1, 1, %(sla)s,
                   d.response, d.response + interval '72 hours', d.response - interval '7 hours',
                   d.response + interval '65 hours', FALSE, FALSE, FALSE, FALSE, 'running', 'running', 'running',
                   d.response, d.response - interval '7 hours'
              FROM generate_series(1, %(count)s) AS i,
                   LATERAL (
                       SELECT CASE i %% 3 WHEN 0 THEN now() - interval '2 hours'
                                          WHEN 1 THEN now() + interval '6 hours'
                                          ELSE now() + interval '20 hours' + (i %% 60) * interval '1 minute'
                              END AS response,
                              now() - interval '10 hours' AS open_at
                   ) AS d
            """,
            company=company.id,
            team=team.id,
            stage=stage.id,
            sla=sla.id,
            count=tickets,
            partners=partner_ids[:1000],
        )
    )

    # --- only the jobs under test run; they commit in several batches
    for xmlid, code in JOB_CODE.items():
        env.ref(xmlid).ir_actions_server_id.code = code.format(batch=batch)
    cr.execute("UPDATE ir_cron SET nextcall = now() + interval '365 days' WHERE active")
    cr.execute("DELETE FROM ir_cron_trigger")
    # mails queued before (notifications of the generated data): the sink must see the jobs' only
    cr.execute("DELETE FROM mail_mail")
    cr.execute("UPDATE ecrm_config SET last_run_day = NULL")
    cr.execute("ANALYZE")
    return {"customers": len(partner_ids), "tickets": tickets, "program": program.id, "campaigns": campaigns.ids}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--odoo-src", default=str(Path.home() / ".local/src/odoo-19.0"))
    args = parser.parse_args()
    sys.path.insert(0, args.odoo_src)
    import odoo
    from odoo import api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["-c", args.config, "-d", args.database, "--log-level=warn"], setup_logging=True)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True, "mail_notrack": True})
        result = setup(env, args.batch)
        cr.commit()
    print(f"[scale] scenario set up: {result}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
