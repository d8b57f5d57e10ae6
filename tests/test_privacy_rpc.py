"""A customer asks for their data, then to be forgotten: the four addons over JSON-RPC.

The export must hold what every addon keeps about the customer; after the erasure, no text,
varchar or jsonb column of any table of the database holds the customer's name, email or
phone any more, while orders and the loyalty ledger are still there.
"""

import base64
import io
import json
import os
import zipfile

import psycopg2
import pytest
from harness.rpc import JsonRpc, RpcError

pytestmark = pytest.mark.e2e

NAME = "Isolde Wrenfield-Marsh"
EMAIL = "isolde.wrenfield@privacy-rpc.example"
PHONE = "+1 202-555-0142"
SECTIONS = {
    # section: the addon that contributes it
    "profile": "ecrm_segments",
    "addresses": "ecrm_segments",
    "consent": "ecrm_segments",
    "consent_history": "ecrm_segments",
    "orders": "ecrm_segments",
    "order_lines": "ecrm_segments",
    "scores": "ecrm_segments",
    "segment_history": "ecrm_segments",
    "messages": "ecrm_segments",
    "loyalty_profile": "ecrm_loyalty",
    "loyalty_cards": "ecrm_loyalty",
    "points_ledger": "ecrm_loyalty",
    "point_lots": "ecrm_loyalty",
    "tier_history": "ecrm_loyalty",
    "campaign_participations": "ecrm_marketing",
    "campaign_messages": "ecrm_marketing",
    "email_traces": "ecrm_marketing",
    "sms_traces": "ecrm_marketing",
    "sms": "ecrm_marketing",
    "webhook_calls": "ecrm_marketing",
    "tickets": "ecrm_helpdesk",
    "ticket_messages": "ecrm_helpdesk",
}


def _xmlid(rpc, xmlid):
    module, name = xmlid.split(".")
    [data] = rpc.execute(
        "ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)], fields=["res_id"]
    )
    return data["res_id"]


def _db_cursor(db):
    conn = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=os.environ.get("PGPORT", "5432"),
        user=os.environ.get("PGUSER") or os.environ.get("USER") or "root",
        password=os.environ.get("PGPASSWORD"),
        dbname=db,
    )
    conn.autocommit = True
    return conn


def find_in_database(db, identifiers):
    """(table, column, rows) of every text/varchar/jsonb column holding one of ``identifiers``."""
    patterns = [
        "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for value in identifiers
    ]
    conn = _db_cursor(db)
    hits = []
    with conn.cursor() as cr:
        cr.execute(
            """SELECT c.table_name, array_agg(c.column_name::text ORDER BY c.column_name)
                 FROM information_schema.columns c
                 JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                  AND c.data_type IN ('text', 'character varying', 'character', 'jsonb')
             GROUP BY c.table_name"""
        )
        for table, columns in cr.fetchall():
            for column in columns:
                cr.execute(
                    f'SELECT COUNT(*) FROM "{table}" WHERE "{column}"::text ILIKE ANY(%s)',
                    [patterns],
                )
                count = cr.fetchone()[0]
                if count:
                    hits.append((table, column, count))
    conn.close()
    return hits


@pytest.fixture(scope="module")
def customer(odoo, rpc):
    """A portal customer with data in every addon: orders, points, campaign messages, a ticket."""
    portal_group = _xmlid(rpc, "base.group_portal")
    user_id = rpc.execute(
        "res.users",
        "create",
        {
            "name": NAME,
            "login": EMAIL,
            "email": EMAIL,
            "password": "isolde-pw-1",
            "group_ids": [(6, 0, [portal_group])],
        },
    )
    [user] = rpc.execute("res.users", "read", [user_id], fields=["partner_id"])
    partner_id = user["partner_id"][0]
    rpc.execute(
        "res.partner", "write", [partner_id], {"phone": PHONE, "ecrm_birthday": "1991-04-12", "customer_rank": 1}
    )
    rpc.execute(
        "res.partner",
        "create",
        {"name": f"{NAME} (office)", "type": "delivery", "parent_id": partner_id, "street": "9 Wren Street"},
    )
    for channel in ("email", "sms", "webhook"):
        rpc.execute("res.partner", "ecrm_set_consent", [partner_id], channel, True, proof=f"Signed by {NAME}")
    # loyalty: a points program, the customer's card, a manual adjustment and a low tier
    program_id = rpc.execute(
        "loyalty.program",
        "create",
        {
            "name": "Privacy Club",
            "program_type": "loyalty",
            "trigger": "auto",
            "applies_on": "both",
            "rule_ids": [(0, 0, {"reward_point_mode": "money", "reward_point_amount": 1})],
        },
    )
    card_id = rpc.execute("loyalty.card", "create", {"program_id": program_id, "partner_id": partner_id, "points": 0})
    rpc.execute("loyalty.card", "ecrm_adjust", [card_id], 40, "Welcome gift")
    # the highest tier the order qualifies for (other tests create lower ones)
    rpc.execute("ecrm.loyalty.tier", "create", {"name": "Privacy Bronze", "threshold": 50, "multiplier": 1})
    # an order (earns points, reaches the tier) and the scores
    product_id = rpc.execute("product.product", "create", {"name": "Privacy Kettle", "list_price": 60})
    order_id = rpc.execute(
        "sale.order", "create", {"partner_id": partner_id, "order_line": [(0, 0, {"product_id": product_id})]}
    )
    rpc.execute("sale.order", "action_confirm", [order_id])
    rpc.execute("sale.order", "message_post", [order_id], body=f"Gift note for {NAME}, call {PHONE}")
    rpc.execute("ecrm.partner.score", "recompute")
    # a campaign: an email, a text message and a WeChat webhook
    welcome = _xmlid(rpc, "ecrm_marketing.mail_template_welcome")
    sms_template = rpc.execute(
        "sms.template",
        "create",
        {"name": "Privacy SMS", "model_id": _xmlid(rpc, "base.model_res_partner"), "body": "Hi {{ object.name }}"},
    )
    campaign_id = rpc.execute(
        "ecrm.campaign",
        "create",
        {
            "name": "Privacy campaign",
            "trigger": "manual",
            "exit_on_order": False,
            "step_ids": [
                (0, 0, {"name": "Mail", "sequence": 1, "mail_template_id": welcome}),
                (0, 0, {"name": "Text", "sequence": 2, "channel": "sms", "sms_template_id": sms_template}),
                (
                    0,
                    0,
                    {"name": "Hook", "sequence": 3, "channel": "webhook", "webhook_url": "https://hooks.example.com/x"},
                ),
            ],
        },
    )
    rpc.execute("ecrm.campaign", "action_activate", [campaign_id])
    rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], [partner_id])
    # the scheduled action sends the due steps (as the campaign engine's user)
    advance = _xmlid(rpc, "ecrm_marketing.ir_cron_ecrm_campaign_advance")
    for _step in range(3):
        rpc.execute("ir.cron", "method_direct_trigger", [advance])
    # a ticket with the customer's own words
    ticket_id = rpc.execute(
        "ecrm.helpdesk.ticket",
        "create",
        {
            "name": "Kettle leaks",
            "partner_id": partner_id,
            "description": f"<p>I am {NAME}, reach me at {PHONE}.</p>",
            "sale_order_ids": [(6, 0, [order_id])],
        },
    )
    rpc.execute(
        "ecrm.helpdesk.ticket",
        "message_post",
        [ticket_id],
        body=f"Dear {NAME}, a new kettle is on its way.",
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
    )
    [phone] = rpc.execute("res.partner", "read", [partner_id], fields=["phone_sanitized"])
    return {
        "partner_id": partner_id,
        "user_id": user_id,
        "order_id": order_id,
        "card_id": card_id,
        "ticket_id": ticket_id,
        "campaign_id": campaign_id,
        "identifiers": [NAME, EMAIL, PHONE, phone["phone_sanitized"]],
    }


def test_export_holds_every_addon_data_then_erasure_leaves_no_trace(odoo, rpc, customer):
    partner_id = customer["partner_id"]
    result = rpc.execute("res.partner", "ecrm_privacy_export", [partner_id])
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(result["content"]))) as archive:
        assert sorted(archive.namelist()) == ["README.txt", "personal_data.json", "personal_data.xlsx"]
        document = json.loads(archive.read("personal_data.json"))
    sections = document["sections"]
    empty = [f"{key} ({addon})" for key, addon in SECTIONS.items() if not sections.get(key, {}).get("rows")]
    assert not empty, f"sections without the customer's data: {empty}"
    assert sections["profile"]["rows"][0]["email"] == EMAIL
    assert sections["orders"]["rows"][0]["id"] == customer["order_id"]
    assert {row["kind"] for row in sections["points_ledger"]["rows"]} >= {"Adjustment", "Earn"}
    assert sections["tier_history"]["rows"][-1]["tier_to_id"] == "Privacy Bronze"
    assert {row["channel"] for row in sections["campaign_messages"]["rows"]} == {"Email", "SMS", "Webhook"}
    assert sections["email_traces"]["rows"][0]["email"] == EMAIL
    assert NAME in sections["tickets"]["rows"][0]["description"]
    assert any("a new kettle" in row["body"] for row in sections["ticket_messages"]["rows"])
    [export] = rpc.execute(
        "ecrm.audit.log", "search_read", [("action", "=", "export"), ("res_id", "=", partner_id)], fields=["user_id"]
    )
    assert export["user_id"][0] == rpc.uid

    assert find_in_database(odoo.db, customer["identifiers"]), "the customer is in the database before the erasure"
    ledger_before = rpc.execute("ecrm.loyalty.ledger", "search", [("card_id", "=", customer["card_id"])])
    with pytest.raises(RpcError, match="exactly"):
        rpc.execute("res.partner", "ecrm_privacy_erase", [partner_id], "Isolde")
    outcome = rpc.execute("res.partner", "ecrm_privacy_erase", [partner_id], NAME)
    assert outcome["name"] == f"Erased customer {partner_id}"
    assert find_in_database(odoo.db, customer["identifiers"]) == []
    # kept, de-identified: the order, the ledger (not a line changed or removed), the ticket
    [order] = rpc.execute("sale.order", "read", [customer["order_id"]], fields=["partner_id", "state"])
    assert order["partner_id"][0] == partner_id and order["state"] == "sale"
    assert rpc.execute("ecrm.loyalty.ledger", "search", [("card_id", "=", customer["card_id"])]) == ledger_before
    assert rpc.execute("ecrm.helpdesk.ticket", "search", [("id", "=", customer["ticket_id"])]) == [
        customer["ticket_id"]
    ]
    with pytest.raises(RpcError):
        JsonRpc(odoo.url, odoo.db, EMAIL, "isolde-pw-1")
    [erase] = rpc.execute(
        "ecrm.audit.log", "search_read", [("action", "=", "erase"), ("res_id", "=", partner_id)], fields=["new_value"]
    )
    assert "tickets: 1" in erase["new_value"]
