"""An external storefront drives Odoo over RPC: customer, quotation, confirmation."""

import pytest
from harness.rpc import RpcError

pytestmark = pytest.mark.e2e


def test_addons_installed(rpc):
    modules = rpc.execute(
        "ir.module.module",
        "search_read",
        [("name", "in", ["ecrm_segments", "ecrm_loyalty", "ecrm_marketing", "ecrm_helpdesk"])],
        fields=["name", "state"],
    )
    assert {m["name"]: m["state"] for m in modules} == {
        "ecrm_segments": "installed",
        "ecrm_loyalty": "installed",
        "ecrm_marketing": "installed",
        "ecrm_helpdesk": "installed",
    }


def test_customer_quotation_confirm_over_jsonrpc(rpc):
    partner_id = rpc.execute(
        "res.partner",
        "create",
        {"name": "王小明 (storefront)", "email": "xiaoming@example.cn", "phone": "+86 138 0000 0000", "city": "上海"},
    )
    product_id = rpc.execute(
        "product.product", "create", {"name": "Storefront tea set", "type": "consu", "list_price": 88.0}
    )
    order_id = rpc.execute(
        "sale.order",
        "create",
        {
            "partner_id": partner_id,
            "order_line": [(0, 0, {"product_id": product_id, "product_uom_qty": 3, "price_unit": 88.0})],
        },
    )
    [quotation] = rpc.execute("sale.order", "read", [order_id], fields=["state", "amount_untaxed"])
    assert quotation["state"] == "draft"
    assert quotation["amount_untaxed"] == pytest.approx(264.0)

    rpc.execute("sale.order", "action_confirm", [order_id])

    [order] = rpc.execute(
        "sale.order", "read", [order_id], fields=["state", "partner_id", "amount_untaxed", "order_line", "name"]
    )
    assert order["state"] == "sale"
    assert order["partner_id"][0] == partner_id
    assert order["amount_untaxed"] == pytest.approx(264.0)
    assert len(order["order_line"]) == 1
    [line] = rpc.execute("sale.order.line", "read", order["order_line"], fields=["product_id", "product_uom_qty"])
    assert line["product_id"][0] == product_id
    assert line["product_uom_qty"] == 3
    # the order is found from the customer, as the customer 360 view does
    assert rpc.execute("sale.order", "search", [("partner_id", "=", partner_id), ("state", "=", "sale")]) == [order_id]


def test_same_flow_over_xmlrpc(xmlrpc):
    partner_id = xmlrpc.execute("res.partner", "create", {"name": "XML-RPC customer", "email": "x@example.com"})
    product_id = xmlrpc.execute("product.product", "create", {"name": "Gift wrap", "list_price": 5})
    order_id = xmlrpc.execute(
        "sale.order", "create", {"partner_id": partner_id, "order_line": [(0, 0, {"product_id": product_id})]}
    )
    xmlrpc.execute("sale.order", "action_confirm", [order_id])
    assert xmlrpc.execute("sale.order", "read", [order_id], fields=["state"])[0]["state"] == "sale"


def test_bad_input_is_refused_with_a_clear_error(rpc):
    before = rpc.execute("sale.order", "search_count", [])
    with pytest.raises(RpcError) as error:
        rpc.execute("sale.order", "create", {"partner_id": 999999999})
    assert error.value.args[0]
    assert rpc.execute("sale.order", "search_count", []) == before
