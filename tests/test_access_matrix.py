"""Least privilege, generated: what each role may do on every model of the four addons.

For every ``ecrm.*`` model, each role asks the server (``has_access``, JSON-RPC, logged in as
that role) whether it may read, write, create and delete a sample record of the main
company that belongs to a portal customer (or, for wizards and reports without a sample, the
model itself). The result is compared with the table below: a new model, a changed access
rule or record rule shows up as a difference to review.

Roles: ``user`` (eCRM user), ``manager`` (eCRM manager), ``marketing`` (marketing user),
``loyalty`` (loyalty manager), ``agent`` (helpdesk agent of the sample ticket's team),
``accountant`` (read-only accounting, hence loyalty Liability Reader), ``portal`` (the
customer the samples belong to), ``portal2`` (another portal customer), ``other_co`` (a
user of another company holding every eCRM manager group).
"""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from harness.rpc import JsonRpc

pytestmark = pytest.mark.e2e

ROLES = ["user", "manager", "marketing", "loyalty", "agent", "accountant", "portal", "portal2", "other_co"]
OPERATIONS = [("r", "read"), ("w", "write"), ("c", "create"), ("d", "unlink")]
RUN = os.getpid()  # logins and codes unique even on a database a previous session used

EXPECTED = """
model                            user       manager    marketing  loyalty    agent      accountant portal     portal2    other_co
ecrm.analysis.cluster            rwcd       rwcd       rwcd       rwcd       rwcd       rwcd       ----       ----       rwcd
ecrm.analysis.cluster.member     r---       r---       r---       r---       r---       r---       ----       ----       r---
ecrm.analysis.cluster.run        rwc-       rwcd       rwc-       rwc-       rwc-       rwc-       ----       ----       rwcd
ecrm.analysis.cohort             r---       r---       r---       r---       r---       r---       ----       ----       r---
ecrm.analysis.kpi                r---       r---       r---       r---       r---       r---       ----       ----       r---
ecrm.analysis.kpi.export         rwc-       rwc-       rwc-       rwc-       rwc-       rwc-       ----       ----       rwc-
ecrm.analysis.pair               r---       r---       r---       r---       r---       r---       ----       ----       r---
ecrm.analysis.pair.run           rwc-       rwcd       rwc-       rwc-       rwc-       rwc-       ----       ----       rwcd
ecrm.analysis.trend              r---       r---       r---       r---       r---       r---       ----       ----       r---
ecrm.audit.log                   ----       r---       ----       ----       ----       ----       ----       ----       ----
ecrm.campaign                    ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.campaign.funnel             ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.campaign.participant        ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.campaign.send               ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.campaign.step               ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.campaign.variant            ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.campaign.webhook            ----       ----       r---       ----       ----       ----       ----       ----       ----
ecrm.config                      r---       rwc-       r---       r---       r---       r---       ----       ----       ----
ecrm.consent.log                 r---       r---       r---       r---       r---       r---       ----       ----       r---
ecrm.helpdesk.faq                ----       ----       ----       ----       r---       ----       ----       ----       ----
ecrm.helpdesk.sla                ----       ----       ----       ----       r---       ----       ----       ----       ----
ecrm.helpdesk.stage              ----       ----       ----       ----       r---       ----       ----       ----       ----
ecrm.helpdesk.tag                ----       ----       ----       ----       r-c-       ----       ----       ----       rwcd
ecrm.helpdesk.team               ----       ----       ----       ----       r---       ----       ----       ----       ----
ecrm.helpdesk.ticket             ----       ----       ----       ----       rwc-       ----       r---       ----       ----
ecrm.helpdesk.ticket.report      ----       ----       ----       ----       r---       ----       ----       ----       ----
ecrm.helpdesk.type               ----       ----       ----       ----       r---       ----       ----       ----       rwcd
ecrm.loyalty.adjust              ----       ----       ----       rwcd       ----       ----       ----       ----       rwcd
ecrm.loyalty.ledger              ----       ----       ----       r---       ----       r---       r---       ----       ----
ecrm.loyalty.liability           ----       ----       ----       rwcd       ----       rwcd       ----       ----       rwcd
ecrm.loyalty.liability.line      ----       ----       ----       rwcd       ----       rwcd       ----       ----       rwcd
ecrm.loyalty.lot                 ----       ----       ----       r---       ----       r---       r---       ----       ----
ecrm.loyalty.tier                r---       r---       r---       rwcd       r---       r---       r---       r---       ----
ecrm.loyalty.tier.history        ----       ----       ----       r---       ----       ----       ----       ----       ----
ecrm.partner.score               r---       r---       r---       r---       r---       r---       ----       ----       ----
ecrm.privacy.erase               ----       rwc-       ----       ----       ----       ----       ----       ----       rwc-
ecrm.privacy.export              ----       rwc-       ----       ----       ----       ----       ----       ----       rwc-
ecrm.segment                     r---       rwcd       r---       r---       r---       r---       ----       ----       ----
ecrm.segment.export              rwc-       rwc-       rwc-       rwc-       rwc-       rwc-       ----       ----       rwc-
ecrm.segment.history             r---       r---       r---       r---       r---       r---       ----       ----       ----
ecrm.segment.member              r---       r---       r---       r---       r---       r---       ----       ----       ----
ecrm.segment.movement            r---       r---       r---       r---       r---       r---       ----       ----       ----
ecrm.tag.rule                    r---       rwcd       r---       r---       r---       r---       ----       ----       ----
ecrm.tag.rule.link               r---       r---       r---       r---       r---       r---       ----       ----       ----
"""


def _xmlid(rpc, xmlid):
    module, name = xmlid.split(".")
    [data] = rpc.execute(
        "ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)], fields=["res_id"]
    )
    return data["res_id"]


def _one(rpc, model, domain):
    ids = rpc.execute(model, "search", domain, limit=1, order="id desc")
    assert ids, f"no sample {model} for {domain}"
    return ids[0]


@pytest.fixture(scope="module")
def world(odoo, rpc):
    """The role users, and one sample record per model in the main company."""
    company_id = rpc.execute("res.users", "read", [rpc.uid], fields=["company_id"])[0]["company_id"][0]
    other_company = rpc.execute("res.company", "create", {"name": f"Matrix Other Shop {RUN}"})

    def user(login, groups, company=company_id):
        group_ids = [_xmlid(rpc, xmlid) for xmlid in groups]
        return rpc.execute(
            "res.users",
            "create",
            {
                "name": f"Matrix {login}",
                "login": f"matrix_{login}_{RUN}",
                "password": f"matrix_{login}_pw",
                "email": f"matrix.{login}@example.com",
                "group_ids": [(6, 0, group_ids)],
                "company_id": company,
                "company_ids": [(6, 0, [company])],
            },
        )

    users = {
        "user": user("user", ["base.group_user", "ecrm_segments.ecrm_group_user"]),
        "manager": user("manager", ["base.group_user", "ecrm_segments.ecrm_group_manager"]),
        "marketing": user("marketing", ["base.group_user", "ecrm_marketing.ecrm_marketing_group_user"]),
        "loyalty": user("loyalty", ["base.group_user", "ecrm_loyalty.ecrm_loyalty_group_manager"]),
        "agent": user("agent", ["base.group_user", "ecrm_helpdesk.ecrm_helpdesk_group_user"]),
        "accountant": user("accountant", ["base.group_user", "account.group_account_readonly"]),
        "portal": user("portal", ["base.group_portal"]),
        "portal2": user("portal2", ["base.group_portal"]),
        "other_co": user(
            "other_co",
            [
                "base.group_user",
                "ecrm_segments.ecrm_group_manager",
                "ecrm_loyalty.ecrm_loyalty_group_manager",
                "ecrm_marketing.ecrm_marketing_group_manager",
                "ecrm_helpdesk.ecrm_helpdesk_group_manager",
            ],
            company=other_company,
        ),
    }
    customer = rpc.execute("res.users", "read", [users["portal"]], fields=["partner_id"])[0]["partner_id"][0]
    rpc.execute("res.partner", "write", [customer], {"customer_rank": 1, "phone": "+1 202-555-0111"})
    rpc.execute("res.partner", "ecrm_set_consent", [customer], "email", True, proof="Matrix")
    samples = {}
    # segments
    tag = rpc.execute("res.partner.category", "create", {"name": "Matrix tag"})
    samples["ecrm.segment"] = rpc.execute(
        "ecrm.segment", "create", {"name": "Matrix segment", "code": f"matrix_{RUN}", "company_id": company_id}
    )
    samples["ecrm.tag.rule"] = rpc.execute(
        "ecrm.tag.rule", "create", {"name": "Matrix rule", "tag_id": tag, "min_orders": 1, "company_id": company_id}
    )
    # loyalty: a program, the customer's card, an order that earns points and reaches a tier
    program = rpc.execute(
        "loyalty.program",
        "create",
        {
            "name": "Matrix Club",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "rule_ids": [(0, 0, {"reward_point_mode": "money", "reward_point_amount": 1})],
        },
    )
    card = rpc.execute("loyalty.card", "create", {"program_id": program, "partner_id": customer, "points": 0})
    samples["ecrm.loyalty.tier"] = rpc.execute(
        "ecrm.loyalty.tier",
        "create",
        {"name": "Matrix Tier", "threshold": 1, "multiplier": 1, "company_id": company_id},
    )
    product = rpc.execute("product.product", "create", {"name": "Matrix Mug", "list_price": 30})
    order = rpc.execute(
        "sale.order", "create", {"partner_id": customer, "order_line": [(0, 0, {"product_id": product})]}
    )
    rpc.execute("sale.order", "action_confirm", [order])
    # a customer without orders: a prospect, whose segment and stage are a membership row
    prospect = rpc.execute("res.partner", "create", {"name": f"Matrix Prospect {RUN}", "customer_rank": 1})
    rpc.execute("ecrm.partner.score", "recompute")
    samples["ecrm.segment.member"] = _one(rpc, "ecrm.segment.member", [("partner_id", "=", prospect)])
    rpc.execute("ecrm.tag.rule", "run", [samples["ecrm.tag.rule"]])
    for model in (
        "ecrm.segment.history",
        "ecrm.partner.score",
        "ecrm.tag.rule.link",
        "ecrm.segment.movement",
        "ecrm.consent.log",
        "ecrm.loyalty.tier.history",
    ):
        samples[model] = _one(rpc, model, [("partner_id", "=", customer)])
    samples["ecrm.config"] = _one(rpc, "ecrm.config", [("company_id", "=", company_id)])
    samples["ecrm.audit.log"] = _one(rpc, "ecrm.audit.log", [("res_id", "=", customer), ("action", "=", "consent")])
    samples["ecrm.loyalty.ledger"] = _one(rpc, "ecrm.loyalty.ledger", [("card_id", "=", card)])
    samples["ecrm.loyalty.lot"] = _one(rpc, "ecrm.loyalty.lot", [("card_id", "=", card)])
    # marketing: a campaign with a variant step and a webhook step, run by the scheduled action
    welcome = _xmlid(rpc, "ecrm_marketing.mail_template_welcome")
    campaign = rpc.execute(
        "ecrm.campaign",
        "create",
        {
            "name": "Matrix campaign",
            "company_id": company_id,
            "exit_on_order": False,
            "step_ids": [
                (
                    0,
                    0,
                    {
                        "name": "Mail",
                        "sequence": 1,
                        "variant_ids": [(0, 0, {"name": "A", "split_percent": 100, "mail_template_id": welcome})],
                    },
                ),
                (
                    0,
                    0,
                    {"name": "Hook", "sequence": 2, "channel": "webhook", "webhook_url": "https://hooks.example.com/m"},
                ),
            ],
        },
    )
    rpc.execute("res.partner", "ecrm_set_consent", [customer], "webhook", True, proof="Matrix")
    rpc.execute("ecrm.campaign", "action_activate", [campaign])
    rpc.execute("ecrm.campaign", "action_enrol", [campaign], [customer])
    advance = _xmlid(rpc, "ecrm_marketing.ir_cron_ecrm_campaign_advance")
    for _step in range(2):
        rpc.execute("ir.cron", "method_direct_trigger", [advance])
    samples["ecrm.campaign"] = campaign
    samples["ecrm.campaign.step"] = _one(rpc, "ecrm.campaign.step", [("campaign_id", "=", campaign)])
    samples["ecrm.campaign.variant"] = _one(rpc, "ecrm.campaign.variant", [("step_id.campaign_id", "=", campaign)])
    for model in ("ecrm.campaign.participant", "ecrm.campaign.send", "ecrm.campaign.webhook", "ecrm.campaign.funnel"):
        samples[model] = _one(rpc, model, [("campaign_id", "=", campaign)])
    # helpdesk
    samples["ecrm.helpdesk.team"] = rpc.execute(
        "ecrm.helpdesk.team",
        "create",
        {"name": "Matrix Support", "company_id": company_id, "member_ids": [(6, 0, [users["agent"]])]},
    )
    samples["ecrm.helpdesk.stage"] = _one(rpc, "ecrm.helpdesk.stage", [("team_id", "=", samples["ecrm.helpdesk.team"])])
    samples["ecrm.helpdesk.sla"] = rpc.execute(
        "ecrm.helpdesk.sla", "create", {"name": "Matrix SLA", "response_hours": 4, "company_id": company_id}
    )
    samples["ecrm.helpdesk.type"] = rpc.execute("ecrm.helpdesk.type", "create", {"name": "Matrix type"})
    samples["ecrm.helpdesk.tag"] = rpc.execute("ecrm.helpdesk.tag", "create", {"name": "Matrix ticket tag"})
    samples["ecrm.helpdesk.faq"] = rpc.execute(
        "ecrm.helpdesk.faq", "create", {"name": "Matrix question", "company_id": company_id, "is_published": True}
    )
    samples["ecrm.helpdesk.ticket"] = rpc.execute(
        "ecrm.helpdesk.ticket",
        "create",
        {
            "name": "Matrix ticket",
            "partner_id": customer,
            "team_id": samples["ecrm.helpdesk.team"],
            "type_id": samples["ecrm.helpdesk.type"],
        },
    )
    samples["ecrm.helpdesk.ticket.report"] = _one(
        rpc, "ecrm.helpdesk.ticket.report", [("ticket_id", "=", samples["ecrm.helpdesk.ticket"])]
    )
    clients = {role: JsonRpc(odoo.url, odoo.db, f"matrix_{role}_{RUN}", f"matrix_{role}_pw") for role in ROLES}
    return {"samples": samples, "clients": clients}


def _cells(client, models, samples):
    """The role's ``rwcd`` letters for each model (``-`` where refused)."""
    cells = {}
    for model in models:
        record = [samples[model]] if model in samples else []
        cells[model] = "".join(
            letter if client.execute(model, "has_access", record, operation) else "-"
            for letter, operation in OPERATIONS
        )
    return cells


def _matrix(rpc, world):
    models = sorted(
        model["model"]
        for model in rpc.execute("ir.model", "search_read", [("model", "=like", "ecrm.%")], fields=["model"])
        # abstract mixins: no table, nothing to access
        if model["model"] not in ("ecrm.audit.mixin", "ecrm.blacklist.consent.mixin")
    )
    # one thread per role: the answers do not depend on the order of the calls
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {role: pool.submit(_cells, world["clients"][role], models, world["samples"]) for role in ROLES}
        by_role = {role: future.result() for role, future in futures.items()}
    lines = [" ".join(["model".ljust(32), *(role.ljust(10) for role in ROLES)])]
    for model in models:
        lines.append(" ".join([model.ljust(32), *(by_role[role][model].ljust(10) for role in ROLES)]))
    return "\n".join(line.rstrip() for line in lines)


def test_access_matrix(rpc, world):
    actual = _matrix(rpc, world)
    assert actual == EXPECTED.strip(), f"access matrix changed; review, then update EXPECTED:\n{actual}"
