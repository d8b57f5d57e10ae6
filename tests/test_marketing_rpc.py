"""A script drives ecrm_marketing over JSON-RPC and XML-RPC as documented in its README."""

import pytest
from harness.rpc import RpcError

pytestmark = pytest.mark.e2e


def _xmlid(rpc, module, name):
    [data] = rpc.execute(
        "ir.model.data", "search_read", [("module", "=", module), ("name", "=", name)], fields=["res_id"]
    )
    return data["res_id"]


def test_campaign_lifecycle_over_jsonrpc(rpc, xmlrpc):
    welcome = _xmlid(rpc, "ecrm_marketing", "mail_template_welcome")
    winback = _xmlid(rpc, "ecrm_marketing", "mail_template_winback")
    campaign_id = rpc.execute(
        "ecrm.campaign",
        "create",
        {
            "name": "RPC welcome series",
            "trigger": "manual",
            "step_ids": [
                (0, 0, {"name": "Welcome", "sequence": 1, "mail_template_id": welcome}),
                (
                    0,
                    0,
                    {
                        "name": "Nudge",
                        "sequence": 2,
                        "delay": 3,
                        "delay_unit": "days",
                        "condition": "not_opened",
                        "mail_template_id": winback,
                    },
                ),
            ],
        },
    )
    assert rpc.execute("ecrm.campaign", "action_activate", [campaign_id]) is True
    partner_ids = [
        rpc.execute("res.partner", "create", {"name": f"RPC customer {i}", "email": f"rpc.customer{i}@example.com"})
        for i in range(3)
    ]
    # the storefront records the checkout's consent checkbox (the shop requires explicit consent)
    rpc.execute("res.partner", "ecrm_set_consent", partner_ids, "email", True, proof="Checkout checkbox")
    created = rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], partner_ids)
    assert len(created) == 3
    # enrolling again changes nothing
    assert rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], partner_ids) == []
    result = rpc.execute("ecrm.campaign", "action_run", [campaign_id])
    assert result["processed"] == 3
    # a second run sends nothing more: each step at most once
    assert rpc.execute("ecrm.campaign", "action_run", [campaign_id])["processed"] == 0
    sends = rpc.execute(
        "ecrm.campaign.send", "search_read", [("campaign_id", "=", campaign_id)], fields=["partner_id", "state"]
    )
    assert sorted(s["partner_id"][0] for s in sends) == sorted(partner_ids)
    assert {s["state"] for s in sends} == {"sent"}
    participants = rpc.execute(
        "ecrm.campaign.participant",
        "search_read",
        [("campaign_id", "=", campaign_id)],
        fields=["state", "current_step_id"],
    )
    assert {p["state"] for p in participants} == {"running"}
    assert {p["current_step_id"][1] for p in participants} == {"Nudge"}
    stats = rpc.execute("ecrm.campaign", "get_stats", [campaign_id])
    assert stats[str(campaign_id)]["campaign"]["sent"] == 3
    assert stats[str(campaign_id)]["campaign"]["participants"] == 3
    # the same API answers over XML-RPC
    xml_stats = xmlrpc.execute("ecrm.campaign", "get_stats", [campaign_id])
    assert xml_stats[str(campaign_id)]["campaign"]["sent"] == 3
    recommendations = rpc.execute("ecrm.campaign", "get_recommendations", partner_ids, 2)
    assert set(recommendations) == {str(pid) for pid in partner_ids}
    assert rpc.execute("ecrm.campaign", "action_stop", [campaign_id]) is True


def test_bad_configuration_refused_over_rpc(rpc):
    campaign_id = rpc.execute(
        "ecrm.campaign", "create", {"name": "RPC broken", "step_ids": [(0, 0, {"name": "No template"})]}
    )
    with pytest.raises(RpcError, match="No template has no email template"):
        rpc.execute("ecrm.campaign", "action_activate", [campaign_id])
    [campaign] = rpc.execute("ecrm.campaign", "read", [campaign_id], fields=["state"])
    assert campaign["state"] == "draft"
    with pytest.raises(RpcError, match="not a valid domain"):
        rpc.execute("ecrm.campaign", "create", {"name": "RPC bad domain", "domain": "[('nope', '=', 1)]"})


def test_reentry_policy_over_rpc(rpc):
    """Each occurrence enrols once; the policy says whether another occurrence enrols again."""
    welcome = _xmlid(rpc, "ecrm_marketing", "mail_template_welcome")
    step = (0, 0, {"name": "Welcome", "mail_template_id": welcome})
    campaign_id = rpc.execute("ecrm.campaign", "create", {"name": "RPC promos", "step_ids": [step]})
    [campaign] = rpc.execute("ecrm.campaign", "read", [campaign_id], fields=["reentry", "reentry_days"])
    assert campaign["reentry"] == "occurrence"  # the default of the manual trigger
    rpc.execute("ecrm.campaign", "action_activate", [campaign_id])
    partner_id = rpc.execute("res.partner", "create", {"name": "RPC promo fan", "email": "rpc.promo@example.com"})
    rpc.execute("res.partner", "ecrm_set_consent", [partner_id], "email", True, proof="Newsletter form")
    assert len(rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], [partner_id], "promo:spring")) == 1
    assert rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], [partner_id], "promo:spring") == []
    assert len(rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], [partner_id], "promo:summer")) == 1
    assert rpc.execute("ecrm.campaign", "action_run", [campaign_id])["processed"] == 2
    sends = rpc.execute(
        "ecrm.campaign.send", "search_read", [("campaign_id", "=", campaign_id)], fields=["participant_id", "step_id"]
    )
    assert len(sends) == 2 and len({s["participant_id"][0] for s in sends}) == 2
    keys = rpc.execute(
        "ecrm.campaign.participant", "search_read", [("campaign_id", "=", campaign_id)], fields=["enrolment_key"]
    )
    assert sorted(k["enrolment_key"] for k in keys) == ["promo:spring", "promo:summer"]
    # once per customer: no other occurrence enrols them again
    rpc.execute("ecrm.campaign", "write", [campaign_id], {"reentry": "once"})
    assert rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], [partner_id], "promo:autumn") == []
    with pytest.raises(RpcError, match="at least one day"):
        rpc.execute("ecrm.campaign", "write", [campaign_id], {"reentry": "interval", "reentry_days": 0})
    kpis = rpc.execute("ecrm.campaign", "get_stats", [campaign_id])[str(campaign_id)]["campaign"]
    assert {"sent", "delivered", "bounced", "failed", "clicked"} <= set(kpis)
    assert kpis["sent"] == 2 and kpis["participants"] == 2


def test_sms_step_over_rpc(rpc):
    """An SMS step queues tracked texts: a trace per text, its counters on the step."""
    model_id = rpc.execute("ir.model", "search", [("model", "=", "res.partner")])[0]
    template_id = rpc.execute(
        "sms.template",
        "create",
        {"name": "RPC sale", "model_id": model_id, "body": "Sale on https://shop.example.com/rpc"},
    )
    campaign_id = rpc.execute(
        "ecrm.campaign",
        "create",
        {
            "name": "RPC texts",
            "step_ids": [(0, 0, {"name": "Text", "channel": "sms", "sms_template_id": template_id})],
        },
    )
    rpc.execute("ecrm.campaign", "action_activate", [campaign_id])
    partner_id = rpc.execute("res.partner", "create", {"name": "RPC texter", "phone": "+32 470 99 99 99"})
    rpc.execute("res.partner", "ecrm_set_consent", [partner_id], "sms", True, proof="Checkout checkbox")
    rpc.execute("ecrm.campaign", "action_enrol", [campaign_id], [partner_id])
    rpc.execute("ecrm.campaign", "action_run", [campaign_id])
    [send] = rpc.execute(
        "ecrm.campaign.send",
        "search_read",
        [("campaign_id", "=", campaign_id)],
        fields=["state", "channel", "mailing_trace_id", "trace_status", "sms_id_int"],
    )
    assert (send["state"], send["channel"], send["trace_status"]) == ("sent", "sms", "outgoing")
    assert send["mailing_trace_id"] and send["sms_id_int"]
    [step] = rpc.execute(
        "ecrm.campaign.step",
        "search_read",
        [("campaign_id", "=", campaign_id)],
        fields=["send_count", "delivered_count", "failed_count", "mailing_id"],
    )
    assert (step["send_count"], step["delivered_count"], step["failed_count"]) == (1, 0, 0)
    assert step["mailing_id"]
