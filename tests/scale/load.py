"""Bounded load test through HTTP JSON-RPC, as a storefront and the portal use Odoo.

Each client (a thread with its own HTTP connection) repeats a mix of operations for a fixed time:

===================  ====================================================  ====================================
operation            with the eCRM addons                                  core equivalent (addons not installed)
===================  ====================================================  ====================================
create_customer      ``res.partner.create``                                the same
confirm_order        ``sale.order.create`` (2 lines) + ``action_confirm``  the same (Odoo's loyalty awards the
                     (Odoo's loyalty + the eCRM ledger, lot, tier)         points on the card)
redeem_points        ``loyalty.card.ecrm_redeem(10)``                      ``loyalty.card.write`` of the balance
                                                                           minus 10 + ``loyalty.history.create``
open_ticket          ``ecrm.helpdesk.ticket.create`` (SLA, number, mail)   ``res.partner.message_post`` (a
                                                                           message on the customer)
===================  ====================================================  ====================================

The same traffic runs against two databases with the same generator data: one with the four
addons, one with only the Odoo modules they depend on. The overhead ratio is core throughput /
eCRM throughput over the whole mix, and the same on the common subset (create_customer,
confirm_order). Afterwards: zero errors, no card overdrawn, balances equal the ledger sums,
no order awarded twice.
"""

import random
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cluster  # noqa: E402
from cluster import Server  # noqa: E402

OPS = ("create_customer", "confirm_order", "redeem_points", "open_ticket")
COMMON = ("create_customer", "confirm_order")
CORE_MODULES = (
    "sale_management,sale_loyalty,account,portal,mail,phone_validation,privacy_lookup,mass_mailing,"
    "mass_mailing_sms,sms,link_tracker,rating,resource"
)
CARDS_PER_CLIENT = 5


def percentile(values, share):
    if not values:
        return 0.0
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(share * (len(values) - 1))))
    return values[k]


def prepare(rpc, ecrm, clients):
    """Product, loyalty programme, and CARDS_PER_CLIENT funded cards per client; returns the context."""
    product = rpc.execute(
        "product.product", "create", {"name": "Load Tea", "list_price": 10.0, "taxes_id": [(5, 0, 0)], "type": "consu"}
    )
    program = {
        "name": "Load Club",
        "program_type": "loyalty",
        "trigger": "auto",
        "applies_on": "both",
        "rule_ids": [(0, 0, {"reward_point_mode": "money", "reward_point_amount": 1})],
        "reward_ids": [
            (0, 0, {"reward_type": "discount", "discount_mode": "per_point", "discount": 0.01, "required_points": 100})
        ],
    }
    # the same programmes on both sides: only this one
    others = rpc.execute("loyalty.program", "search", [("active", "=", True)])
    rpc.execute("loyalty.program", "write", others, {"active": False})
    program_id = rpc.execute("loyalty.program", "create", program)
    team_id = False
    if ecrm:
        team_id = rpc.execute("ecrm.helpdesk.team", "create", {"name": "Load Support"})
    partners = rpc.execute(
        "res.partner",
        "create",
        [{"name": f"Load Card {i}", "email": f"load.card.{i}@example.com"} for i in range(clients * CARDS_PER_CLIENT)],
    )
    cards = rpc.execute("loyalty.card", "create", [{"program_id": program_id, "partner_id": p} for p in partners])
    for card in cards:
        if ecrm:
            rpc.execute("loyalty.card", "ecrm_adjust", [card], 100000, "load test balance")
        else:
            rpc.execute("loyalty.card", "write", [card], {"points": 100000})
    return {"product": product, "program": program_id, "team": team_id, "cards": cards}


class Client(threading.Thread):
    def __init__(self, server, ecrm, context, index, until, seed):
        super().__init__(daemon=True)
        self.rpc = server.rpc()
        self.ecrm, self.ctx, self.until = ecrm, context, until
        self.cards = context["cards"][index * CARDS_PER_CLIENT : (index + 1) * CARDS_PER_CLIENT]
        self.random = random.Random(seed)
        self.latencies = {op: [] for op in OPS}
        self.errors = []
        self.index = index

    def op(self, name):
        x = self.rpc.execute
        r = self.random
        if name == "create_customer":
            n = r.randrange(10**9)
            x("res.partner", "create", {"name": f"Shopper {self.index}-{n}", "email": f"s{self.index}.{n}@example.com"})
        elif name == "confirm_order":
            card = r.choice(self.cards)
            partner = x("loyalty.card", "read", [card], ["partner_id"])[0]["partner_id"][0]
            lines = [(0, 0, {"product_id": self.ctx["product"], "product_uom_qty": r.randint(1, 5)}) for _ in range(2)]
            order = x("sale.order", "create", {"partner_id": partner, "order_line": lines})
            x("sale.order", "action_confirm", [order])
        elif name == "redeem_points":
            card = r.choice(self.cards)
            if self.ecrm:
                x("loyalty.card", "ecrm_redeem", [card], 10, "load test")
            else:
                points = x("loyalty.card", "read", [card], ["points"])[0]["points"]
                x("loyalty.card", "write", [card], {"points": points - 10})
                x("loyalty.history", "create", {"card_id": card, "description": "load test", "used": 10})
        elif name == "open_ticket":
            card = r.choice(self.cards)
            partner = x("loyalty.card", "read", [card], ["partner_id"])[0]["partner_id"][0]
            if self.ecrm:
                x(
                    "ecrm.helpdesk.ticket",
                    "create",
                    {
                        "name": "Where is my parcel?",
                        "partner_id": partner,
                        "team_id": self.ctx["team"],
                        "description": "<p>Ordered last week.</p>",
                    },
                )
            else:
                x(
                    "res.partner",
                    "message_post",
                    [partner],
                    body="Where is my parcel? Ordered last week.",
                    message_type="comment",
                    subtype_xmlid="mail.mt_comment",
                )

    def run(self):
        while time.time() < self.until:
            name = self.random.choice(OPS)
            start = time.perf_counter()
            try:
                self.op(name)
            except Exception as error:
                self.errors.append(f"{name}: {type(error).__name__}: {error}")
                continue
            self.latencies[name].append(time.perf_counter() - start)


def drive(server, ecrm, context, clients, seconds, seed):
    threads = [Client(server, ecrm, context, i, 0, seed * 100 + i) for i in range(clients)]  # logged in
    started = time.time()
    for thread in threads:
        thread.until = started + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - started
    latencies = {op: [v for t in threads for v in t.latencies[op]] for op in OPS}
    every = [v for values in latencies.values() for v in values]
    common = [v for op in COMMON for v in latencies[op]]
    return {
        "clients": clients,
        "ops": len(every),
        "throughput": len(every) / elapsed,
        "common_throughput": len(common) / elapsed,
        "p50_ms": 1000 * percentile(every, 0.50),
        "p95_ms": 1000 * percentile(every, 0.95),
        "p99_ms": 1000 * percentile(every, 0.99),
        "mean_ms": 1000 * (statistics.fmean(every) if every else 0.0),
        "common_mean_ms": 1000 * (statistics.fmean(common) if common else 0.0),
        "per_op_p50_ms": {op: round(1000 * percentile(v, 0.5), 1) for op, v in latencies.items()},
        "errors": [e for t in threads for e in t.errors],
    }


def build_core(base_core, size, say):
    """A database with the Odoo modules the addons depend on (not the addons) and the same data."""
    if cluster.database_exists(base_core):
        return base_core
    import subprocess

    server = Server(base_core, "core-setup", 25)
    say(f"building {base_core}: Odoo modules only ({CORE_MODULES}) and the generator's {size} data")
    subprocess.run(
        server.command("-i", CORE_MODULES, "--stop-after-init", "--no-http", "--log-level", "warn"), check=True
    )
    subprocess.run(
        [
            sys.executable,
            str(HERE.parents[1] / "tests/datagen/generate.py"),
            "--config",
            str(server.conf),
            "-d",
            base_core,
            "--size",
            size,
        ],
        check=True,
    )
    return base_core


def checks(db, ecrm, program_id):
    """Problems after the load: overdrawn cards, balances off their ledger, orders awarded twice."""
    problems = []
    overdrawn = cluster.query(db, "SELECT count(*) FROM loyalty_card WHERE points < 0")[0][0]
    if overdrawn:
        problems.append(f"{overdrawn} card(s) overdrawn")
    if ecrm:
        drift = cluster.query(
            db,
            """SELECT count(*) FROM loyalty_card c
                 JOIN loyalty_program p ON p.id = c.program_id AND p.ecrm_ledger AND p.program_type = 'loyalty'
                 LEFT JOIN (SELECT card_id, sum(points) AS points FROM ecrm_loyalty_ledger GROUP BY card_id) l
                        ON l.card_id = c.id
                WHERE abs(c.points - coalesce(l.points, 0)) > 0.001""",
        )[0][0]
        if drift:
            problems.append(f"{drift} card balance(s) differ from their ledger")
        twice = cluster.query(
            db,
            "SELECT count(*) FROM (SELECT order_id, card_id FROM ecrm_loyalty_ledger WHERE kind = 'earn'"
            " AND order_id IS NOT NULL GROUP BY order_id, card_id HAVING count(*) > 1) x",
        )[0][0]
        if twice:
            problems.append(f"{twice} order(s) awarded twice in the ledger")
        missing = cluster.query(
            db,
            """SELECT count(*) FROM sale_order so
                WHERE so.state = 'sale' AND so.create_date > now() - interval '1 day'
                  AND so.partner_id IN (SELECT partner_id FROM loyalty_card WHERE program_id = %(program)s)
                  AND NOT EXISTS (SELECT 1 FROM ecrm_loyalty_ledger l WHERE l.order_id = so.id AND l.kind = 'earn')""",
            {"program": program_id},
        )[0][0]
        if missing:
            problems.append(f"{missing} confirmed load order(s) without their earn line")
    twice_history = cluster.query(
        db,
        "SELECT count(*) FROM (SELECT order_id, card_id FROM loyalty_history WHERE order_id IS NOT NULL"
        " AND order_model = 'sale.order' AND issued > 0 GROUP BY order_id, card_id HAVING count(*) > 1) x",
    )[0][0]
    if twice_history:
        problems.append(f"{twice_history} order(s) with two loyalty history awards")
    return problems


def run(workdir, levels, seconds, keep=False, say=print, base=None, size="small", compare=True):
    """The load at each concurrency level on the eCRM database and (``compare``) on the one without
    the addons; returns (figures, problems)."""
    base = base or f"ecrm_scale_{size}"
    sides = [("ecrm", base, True)]
    if compare:
        sides.append(("core", build_core(f"{base}_core", size, say), False))
    figures, problems = {"levels": [], "ops": dict.fromkeys(OPS, "see tests/scale/load.py")}, []
    results = {}
    for label, template, ecrm in sides:
        db = f"{template}_load"
        cluster.clone_database(template, db)
        server = Server(db, f"load-{label}", 25, workers=4, crons=0)
        try:
            server.start()
            rpc = server.rpc()
            context = prepare(rpc, ecrm, max(levels))
            drive(server, ecrm, context, 1, min(5.0, seconds), seed=7)  # warm-up: caches, compiled views
            for clients in levels:
                result = drive(server, ecrm, context, clients, seconds, seed=clients)
                results[label, clients] = result
                say(
                    f"load {label:4s} {clients:2d} clients: {result['throughput']:6.1f} ops/s, p50 "
                    f"{result['p50_ms']:6.1f} ms, p95 {result['p95_ms']:6.1f} ms, p99 {result['p99_ms']:6.1f} ms,"
                    f" {len(result['errors'])} errors"
                )
                problems += [f"{label} {clients} clients: {e}" for e in result["errors"][:5]]
            problems += [f"{label}: {p}" for p in checks(db, ecrm, context["program"])]
            problems += [f"{label} server: {line}" for line in server.errors_in_log()]
        finally:
            server.stop()
            if not keep:
                cluster.drop_database(db)
    for clients in levels:
        ours, theirs = results["ecrm", clients], results.get(("core", clients))
        if theirs is None:
            figures["levels"].append({"clients": clients, "ecrm": {k: v for k, v in ours.items() if k != "errors"}})
            continue
        ratio = theirs["throughput"] / ours["throughput"] if ours["throughput"] else float("inf")
        common = theirs["common_throughput"] / ours["common_throughput"] if ours["common_throughput"] else float("inf")
        figures["levels"].append(
            {
                "clients": clients,
                "ecrm": {k: round(v, 1) if isinstance(v, float) else v for k, v in ours.items() if k != "errors"},
                "core": {k: round(v, 1) if isinstance(v, float) else v for k, v in theirs.items() if k != "errors"},
                "overhead_ratio": round(ratio, 2),
                "overhead_ratio_common": round(common, 2),
            }
        )
        say(
            f"load {clients:2d} clients: overhead (core throughput / eCRM throughput) {ratio:.2f}x, "
            f"common subset {common:.2f}x (goal <= 1.3)"
        )
    return figures, problems
