"""A script drives the documented ecrm_segments API over JSON-RPC: orders in, scores,
segments, grid, CLV fit, tag rules and the XLSX export out."""

import base64
from datetime import datetime, timedelta

import pytest
from harness.rpc import RpcError

pytestmark = pytest.mark.e2e


def _order(rpc, partner_id, product_id, amount, days_ago):
    order_id = rpc.execute(
        "sale.order",
        "create",
        {"partner_id": partner_id, "order_line": [(0, 0, {"product_id": product_id, "price_unit": amount})]},
    )
    rpc.execute("sale.order", "action_confirm", [order_id])
    date = (datetime.utcnow() - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")
    rpc.execute("sale.order", "write", [order_id], {"date_order": date})
    return order_id


@pytest.fixture(scope="module")
def shop(rpc):
    product_id = rpc.execute(
        "product.product", "create", {"name": "RPC segments tea", "list_price": 10.0, "taxes_id": []}
    )
    names = ["RPC Segments Lin", "RPC Segments Zhao", "RPC Segments Qian"]
    partners = [rpc.execute("res.partner", "create", {"name": name}) for name in names]
    for k, partner_id in enumerate(partners):
        for i in range(k + 1):
            _order(rpc, partner_id, product_id, 100.0 * (k + 1), days_ago=5 + 30 * i + k)
    cancelled = _order(rpc, partners[0], product_id, 999.0, days_ago=1)
    rpc.execute("sale.order", "action_cancel", [cancelled])
    stats = rpc.execute("ecrm.partner.score", "recompute")
    return {"partners": partners, "product": product_id, "stats": stats}


def test_recompute_scores_and_segments(rpc, shop):
    [stats] = shop["stats"]
    assert stats["customers"] >= 3
    scores = rpc.execute(
        "ecrm.partner.score",
        "search_read",
        [("partner_id", "in", shop["partners"])],
        fields=["partner_id", "frequency", "monetary", "rfm_code", "segment_id", "stage", "churn_risk"],
        order="partner_id",
    )
    by_partner = {s["partner_id"][0]: s for s in scores}
    lin, zhao, qian = (by_partner[p] for p in shop["partners"])
    assert (lin["frequency"], lin["monetary"]) == (1, 100.0), "the cancelled order does not count"
    assert (zhao["frequency"], zhao["monetary"]) == (2, 400.0)
    assert (qian["frequency"], qian["monetary"]) == (3, 900.0)
    assert all(len(s["rfm_code"]) == 3 and s["segment_id"] for s in scores)
    partners = rpc.execute(
        "res.partner", "read", shop["partners"], fields=["ecrm_segment_id", "ecrm_stage", "ecrm_order_total"]
    )
    assert [p["ecrm_segment_id"][0] for p in partners] == [by_partner[p]["segment_id"][0] for p in shop["partners"]]
    assert [p["ecrm_order_total"] for p in partners] == [100.0, 400.0, 900.0]
    assert {p["ecrm_stage"] for p in partners} <= {"new", "active", "reactivated"}


def test_rerun_changes_nothing(rpc, shop):
    history = rpc.execute("ecrm.segment.history", "search_count", [("partner_id", "in", shop["partners"])])
    assert history == 3
    [again] = rpc.execute("ecrm.partner.score", "recompute")
    assert again["segment_changes"] == 0
    assert rpc.execute("ecrm.segment.history", "search_count", [("partner_id", "in", shop["partners"])]) == 3


def test_grid_fit_and_export(rpc, shop):
    grid = rpc.execute("ecrm.partner.score", "get_rfm_grid")
    assert len(grid["cells"]) == 25
    assert grid["total"] >= 3
    [fit] = rpc.execute("ecrm.partner.score", "fit")
    assert fit["clv_model"] in ("simple", "bgnbd")
    if fit["clv_model"] == "simple":
        assert fit["params"] is False and "Too little data" in fit["note"]
    [score] = rpc.execute(
        "ecrm.partner.score", "search_read", [("partner_id", "=", shop["partners"][2])], fields=["segment_id"]
    )
    export = rpc.execute("ecrm.segment.export", "export_segment", score["segment_id"][0])
    assert export["count"] >= 1
    assert export["file_name"].endswith(".xlsx")
    assert base64.b64decode(export["content"]).startswith(b"PK")


def test_bad_configuration_is_refused(rpc, shop):
    [config] = rpc.execute("ecrm.config", "search_read", [], fields=["id", "scoring_method"], limit=1)
    with pytest.raises(RpcError, match="four increasing numbers"):
        rpc.execute(
            "ecrm.config", "write", [config["id"]], {"scoring_method": "threshold", "recency_thresholds": "9, 8, 7"}
        )
    [after] = rpc.execute("ecrm.config", "read", [config["id"]], fields=["scoring_method"])
    assert after["scoring_method"] == config["scoring_method"]
    with pytest.raises(RpcError, match="overlap"):
        rpc.execute(
            "ecrm.segment", "create", {"name": "RPC overlap", "code": "rpc_overlap", "rule_type": "rfm", "r_min": 5}
        )


def test_tag_rule_over_rpc(rpc, shop):
    tag_id = rpc.execute("res.partner.category", "create", {"name": "RPC big spender"})
    rule_id = rpc.execute(
        "ecrm.tag.rule",
        "create",
        {
            "name": "RPC big spender",
            "tag_id": tag_id,
            "min_spend": 800,
            "partner_domain": "[('name', 'like', 'RPC Segments')]",
        },
    )
    assert rpc.execute("ecrm.tag.rule", "run", [rule_id]) == {"added": 1, "removed": 0}
    tagged_ids = rpc.execute("res.partner", "search", [("category_id", "in", [tag_id])])
    assert tagged_ids == [shop["partners"][2]]
