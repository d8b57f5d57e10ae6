"""A storefront or a script drives the helpdesk over JSON-RPC, as its README documents."""

import pytest
from harness.rpc import RpcError

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def team(rpc):
    admin_id = rpc.uid
    team_id = rpc.execute(
        "ecrm.helpdesk.team",
        "create",
        {"name": "RPC Support", "member_ids": [(6, 0, [admin_id])], "assignment_method": "round_robin"},
    )
    rpc.execute(
        "ecrm.helpdesk.sla",
        "create",
        {
            "name": "RPC SLA",
            "sequence": 1,
            "team_ids": [(6, 0, [team_id])],
            "response_hours": 4,
            "resolution_hours": 24,
        },
    )
    return team_id


def test_ticket_lifecycle_over_jsonrpc(rpc, team):
    partner_id = rpc.execute("res.partner", "create", {"name": "李雷 (rpc)", "email": "li.lei@example.cn"})
    ticket_id = rpc.execute(
        "ecrm.helpdesk.ticket",
        "create",
        {"name": "Parcel not delivered", "team_id": team, "partner_id": partner_id, "channel": "web", "priority": "1"},
    )
    fields = [
        "number",
        "user_id",
        "stage_id",
        "is_closed",
        "sla_id",
        "sla_status",
        "sla_response_deadline",
        "sla_resolution_deadline",
        "partner_email",
        "first_response_date",
        "access_url",
    ]
    [ticket] = rpc.execute("ecrm.helpdesk.ticket", "read", [ticket_id], fields=fields)
    assert ticket["number"].startswith("TK")
    assert ticket["user_id"][0] == rpc.uid, "round-robin over the only member"
    assert ticket["sla_id"] and ticket["sla_status"] == "running"
    assert ticket["sla_response_deadline"] and ticket["sla_resolution_deadline"]
    assert ticket["partner_email"] == "li.lei@example.cn"
    assert ticket["access_url"] == f"/my/tickets/{ticket_id}"
    assert not ticket["is_closed"] and not ticket["first_response_date"]

    rpc.execute(
        "ecrm.helpdesk.ticket",
        "message_post",
        [ticket_id],
        body="We are looking for your parcel.",
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
    )
    [ticket] = rpc.execute(
        "ecrm.helpdesk.ticket", "read", [ticket_id], fields=["first_response_date", "sla_response_status"]
    )
    assert ticket["first_response_date"]
    assert ticket["sla_response_status"] == "met"

    assert rpc.execute("ecrm.helpdesk.ticket", "action_close", [ticket_id]) is True
    [ticket] = rpc.execute(
        "ecrm.helpdesk.ticket", "read", [ticket_id], fields=["is_closed", "close_date", "sla_status"]
    )
    assert ticket["is_closed"] and ticket["close_date"]
    assert ticket["sla_status"] == "met"
    [rating] = rpc.execute(
        "rating.rating",
        "search_read",
        [("res_model", "=", "ecrm.helpdesk.ticket"), ("res_id", "=", ticket_id)],
        fields=["access_token"],
    )
    rpc.execute("ecrm.helpdesk.ticket", "rating_apply", [ticket_id], 1, token=rating["access_token"])
    [ticket] = rpc.execute("ecrm.helpdesk.ticket", "read", [ticket_id], fields=["rating_last_value", "activity_ids"])
    assert ticket["rating_last_value"] == 1
    assert len(ticket["activity_ids"]) == 1, "a low rating is followed up"


def test_bad_input_refused_over_jsonrpc(rpc, team):
    count = rpc.execute("ecrm.helpdesk.sla", "search_count", [])
    with pytest.raises(RpcError, match="cannot be negative"):
        rpc.execute("ecrm.helpdesk.sla", "create", {"name": "Bad RPC SLA", "response_hours": -1})
    assert rpc.execute("ecrm.helpdesk.sla", "search_count", []) == count
    with pytest.raises(RpcError, match="must belong to a team"):
        rpc.execute("ecrm.helpdesk.stage", "create", {"name": "Closed everywhere", "is_closed": True})
    assert not rpc.execute("ecrm.helpdesk.stage", "search", [("name", "=", "Closed everywhere")])


def test_faq_search_over_jsonrpc(rpc):
    faq_id = rpc.execute(
        "ecrm.helpdesk.faq",
        "create",
        {"name": "How long does delivery to Shenzhen take?", "answer": "<p>Two days.</p>", "is_published": True},
    )
    results = rpc.execute("ecrm.helpdesk.faq", "search_faq", "delivery Shenzhen")
    assert [r["id"] for r in results] == [faq_id]
