"""The data generator: a deterministic, heterogeneous plan, and records that behave like ORM-made ones."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datagen import sampling
from harness.server import DATA_DIR, odoo_src

ROOT = Path(__file__).resolve().parents[1]
TODAY = datetime.date(2025, 6, 1)  # pinned: every generated date is before it
SIZE, SEED = "tiny", 42


# ---------------------------------------------------------------------------- the plan (no database)


@pytest.fixture(scope="module")
def demo_plan():
    return sampling.make_plan("demo", 42, TODAY)


def test_same_seed_same_plan_other_seed_other_plan(demo_plan):
    again = sampling.make_plan("demo", 42, TODAY)
    assert again.digest() == demo_plan.digest()
    for name in ("products", "customers", "orders", "lines", "refunds"):
        assert getattr(again, name).equals(getattr(demo_plan, name)), name

    other = sampling.make_plan("demo", 43, TODAY)
    assert other.digest() != demo_plan.digest()
    assert other.customers["name"].tolist() != demo_plan.customers["name"].tolist()
    assert other.orders["amount_cents"].sum() != demo_plan.orders["amount_cents"].sum()

    # "today" moves the dates, not the rest
    later = sampling.make_plan("demo", 42, TODAY + datetime.timedelta(days=10))
    assert later.customers["name"].tolist() == demo_plan.customers["name"].tolist()
    shift = later.orders["date_order"] - demo_plan.orders["date_order"]
    assert (shift == np.timedelta64(10, "D")).all()


def test_sizes_and_dates(demo_plan):
    plan = demo_plan
    assert len(plan.customers) == 200
    assert 1_400 <= len(plan.orders) <= 2_600  # about 10 orders per customer
    assert 10 <= plan.products["categ"].nunique() <= 20
    assert len(plan.products) == 50
    start = np.datetime64(TODAY - datetime.timedelta(days=plan.params.window_days), "s")
    end = np.datetime64(TODAY, "s")
    dates = plan.orders["date_order"].to_numpy()
    assert dates.min() >= start and dates.max() < end
    assert (dates.max() - dates.min()) > np.timedelta64(730, "D")  # 2+ years of history
    # customers are acquired throughout the window: first orders in every half-year
    first = plan.orders.groupby("customer")["date_order"].min().to_numpy()
    halves = ((first - start) // np.timedelta64(183, "D")).astype(int)
    assert set(halves) >= {0, 1, 2, 3, 4}
    # every customer signs up before their first order, and has a birthday of an adult
    assert (plan.customers["created"].to_numpy() <= first).all()
    ages = (np.datetime64(TODAY, "D") - plan.customers["birthday"].to_numpy()) / np.timedelta64(365, "D")
    assert ages.min() >= 17.9 and ages.max() <= 76


def test_heterogeneous_buy_till_you_die(demo_plan):
    customers = demo_plan.customers
    orders = demo_plan.orders
    counts = orders.groupby("customer").size()
    # over-dispersed: far more spread than a Poisson count with the same mean
    assert counts.var() > 3 * counts.mean()
    one_time = (counts == 1).mean()
    assert 0.08 <= one_time <= 0.45
    assert counts.max() >= 8 * counts.median()
    # some customers dropped out for good, others are still buying at the end
    assert 0.3 <= customers["dropped"].mean() <= 0.9
    last = orders.groupby("customer")["date_order"].max()
    recent = last > np.datetime64(TODAY - datetime.timedelta(days=90))
    assert 0.1 <= recent.mean() <= 0.8
    # the still-active customers are the recent buyers much more often than the dropped ones
    dropped = customers["dropped"].to_numpy()
    assert recent[~dropped].mean() > 2 * recent[dropped].mean()
    # spend per order differs between customers (Gamma-Gamma), not only between orders
    mean_value = orders[orders["state"] != "draft"].groupby("customer")["amount_cents"].mean()
    assert mean_value.std() / mean_value.mean() > 0.3
    revenue = orders[orders["state"] == "sale"].groupby("customer")["amount_cents"].sum().sort_values()
    top_decile = revenue.iloc[-len(revenue) // 10 :].sum() / revenue.sum()
    assert top_decile > 0.3  # a few customers make much of the revenue


def test_discounts_carts_cancellations_refunds(demo_plan):
    plan = demo_plan
    orders, lines, customers = plan.orders, plan.lines, plan.customers
    promo = customers["promo"].to_numpy()[orders["customer"].to_numpy()]
    discounted = orders["discount"].to_numpy() > 0
    assert discounted[promo].mean() > 3 * discounted[~promo].mean()
    assert set(np.unique(lines["discount"])) <= {0, 5, 10, 15, 20, 25, 30}
    states = orders["state"].value_counts()
    assert states["sale"] > states["cancel"] > 0 and states["draft"] > 0
    carts = orders[orders["state"] == "draft"]
    assert (carts["date_order"] >= np.datetime64(TODAY - datetime.timedelta(days=plan.params.cart_days))).all()
    assert set(plan.refunds["kind"]) == {"full", "partial"}
    assert (orders.loc[plan.refunds["order"], "state"] == "sale").all()
    # newly launched products exist and are never sold before their launch
    assert plan.products["is_new"].any()
    sold = lines.merge(plan.products[["created"]], left_on="product", right_index=True)
    sold_at = orders["date_order"].to_numpy()[sold["order"].to_numpy()]
    assert (sold["created"].to_numpy() <= sold_at).all()
    # languages: about half Chinese, Chinese customers in China with +86 numbers
    zh = customers[customers["lang"] == "zh_CN"]
    assert 0.35 <= len(zh) / len(customers) <= 0.65
    assert (zh["country"] == "CN").all() and zh["phone"].str.startswith("+86 1").all()
    assert set(customers.loc[customers["lang"] == "en_US", "country"]) == {"US", "GB"}
    assert customers["email"].is_unique


def test_amounts_add_up(demo_plan):
    lines = demo_plan.lines
    exact = lines["price_cents"] * (100 - lines["discount"]) * lines["qty"] / 100
    assert (np.abs(lines["subtotal_cents"] - exact) <= 0.5).all()
    per_order = lines.groupby("order")["subtotal_cents"].sum()
    assert (demo_plan.orders.loc[per_order.index, "amount_cents"] == per_order).all()
    assert (demo_plan.orders["n_lines"] >= 1).all()


# ---------------------------------------------------------------------------- the real command


def _write_config(path):
    src = odoo_src()
    path.write_text(
        "[options]\n"
        f"addons_path = {ROOT / 'addons'},{src / 'addons'}\n"
        f"data_dir = {DATA_DIR}\n"
        f"db_host = {os.environ.get('PGHOST', '127.0.0.1')}\n"
        f"db_port = {os.environ.get('PGPORT', '5432')}\n"
        f"db_user = {os.environ.get('PGUSER') or os.environ.get('USER') or 'root'}\n"
        f"db_password = {os.environ.get('PGPASSWORD', '')}\n"
    )
    return path


def _generate(config, db, *extra):
    cmd = [
        sys.executable, str(ROOT / "tests/datagen/generate.py"), "--config", str(config), "-d", db,
        "--size", SIZE, "--seed", str(SEED), "--today", TODAY.isoformat(), *extra,
    ]  # fmt: skip
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)


def _generated_orders(rpc, **kwargs):
    # other tests create orders today; every generated order is dated before the pinned "today"
    return rpc.execute(
        "sale.order",
        "search_read",
        [("date_order", "<", TODAY.isoformat())],
        order="date_order, id",
        **kwargs,
    )


@pytest.fixture(scope="module")
def generated(odoo, rpc, tmp_path_factory):
    """The tiny data set generated into the test database by the real command (appended if already there)."""
    config = _write_config(tmp_path_factory.mktemp("datagen") / "odoo.conf")
    before = rpc.execute("ir.config_parameter", "get_param", "ecrm.demo_data_seed")
    result = _generate(config, odoo.db, *(["--append"] if before else []))
    assert result.returncode == 0, result.stderr[-3000:]
    runs = rpc.execute("ir.config_parameter", "get_param", "ecrm.demo_data_seed").split(",").count(f"{SIZE}:{SEED}")
    plan = sampling.make_plan(SIZE, SEED, TODAY)
    orders = _generated_orders(
        rpc,
        fields=[
            "name",
            "state",
            "partner_id",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "order_line",
        ],
    )
    return {
        "config": config,
        "plan": plan,
        "runs": runs,
        "orders": orders,
        "stderr": result.stderr,
    }


def test_command_reports_progress_and_summary(generated):
    err = generated["stderr"]
    for phase in (
        "customers:",
        "orders:",
        "order lines:",
        "verification:",
        "summary:",
        "database size",
    ):
        assert phase in err


def test_generated_orders_match_the_plan(generated, rpc):
    plan, runs, orders = generated["plan"], generated["runs"], generated["orders"]
    # on a reused database, each earlier session confirmed one generated cart, which dates it today
    assert runs * len(plan.orders) - (runs - 1) <= len(orders) <= runs * len(plan.orders)
    names = [o["name"] for o in orders]
    assert len(set(names)) == len(names)  # from the sale.order sequence, no duplicates
    # the last run's orders (ids are taken in date order) carry the plan's states and amounts; the amounts are
    # rounded as this company does it ("round globally", the default)
    last_run = sorted(orders, key=lambda o: o["id"])[-len(plan.orders) :]
    assert [o["state"] for o in last_run] == plan.orders["state"].tolist()
    assert [round(o["amount_untaxed"] * 100) for o in last_run] == plan.orders["amount_cents_global"].tolist()
    assert [o["name"] for o in last_run] == sorted(o["name"] for o in last_run)


def test_order_amounts_are_the_sum_of_their_lines(generated, rpc):
    orders = generated["orders"]
    line_ids = [line_id for o in orders for line_id in o["order_line"]]
    lines = rpc.execute(
        "sale.order.line", "read", line_ids,
        fields=["order_id", "price_unit", "product_uom_qty", "discount", "price_subtotal", "price_total", "state"],
    )  # fmt: skip
    by_order = {}
    for line in lines:
        by_order.setdefault(line["order_id"][0], []).append(line)
        exact = line["price_unit"] * line["product_uom_qty"] * (1 - line["discount"] / 100)
        assert line["price_subtotal"] == pytest.approx(exact, abs=0.005 + 1e-9)
        assert line["price_total"] == line["price_subtotal"]  # untaxed
    for order in orders:
        mine = by_order[order["id"]]
        assert all(line["state"] == order["state"] for line in mine)
        assert order["amount_tax"] == 0 and order["amount_total"] == order["amount_untaxed"]
        # equal to the sum of the lines, up to the "round globally" of the company (half a cent a line)
        assert order["amount_untaxed"] == pytest.approx(
            sum(line["price_subtotal"] for line in mine), abs=0.005 * len(mine) + 1e-9
        )
    assert any(line["discount"] > 0 for line in lines)


def test_customers_and_catalogue(generated, rpc):
    plan, runs = generated["plan"], generated["runs"]
    emails = plan.customers["email"].tolist()
    partners = rpc.execute(
        "res.partner", "search_read", [("email", "in", emails)],
        fields=["name", "email", "phone", "city", "country_id", "lang", "customer_rank", "is_company", "sale_order_count"],
    )  # fmt: skip
    assert len(partners) == runs * len(plan.customers)
    assert {p["lang"] for p in partners} == {"zh_CN", "en_US"}
    assert all(p["customer_rank"] > 0 and not p["is_company"] and p["sale_order_count"] > 0 for p in partners)
    zh = [p for p in partners if p["lang"] == "zh_CN"]
    assert all(p["phone"].startswith("+86 1") and p["country_id"][1] in ("China", "中国") for p in zh)
    assert all("\u4e00" <= p["name"][0] <= "\u9fff" for p in zh)  # Chinese names
    assert rpc.execute("res.lang", "search_count", [("code", "=", "zh_CN"), ("active", "=", True)]) == 1
    products = rpc.execute(
        "product.product", "search_read", [("default_code", "in", plan.products["code"].tolist())],
        fields=["name", "list_price", "categ_id", "taxes_id"],
    )  # fmt: skip
    assert len(products) == len(plan.products)  # the catalogue is reused, not duplicated, when appending
    assert all(not p["taxes_id"] for p in products)
    assert len({p["categ_id"][0] for p in products}) >= 10


def test_refunds_are_posted_credit_notes_linked_to_their_orders(generated, rpc):
    plan, runs = generated["plan"], generated["runs"]
    ids = [o["id"] for o in generated["orders"]]
    invoiced = rpc.execute("sale.order", "search_read", [("id", "in", ids), ("invoice_ids", "!=", False)],
                           fields=["invoice_ids", "amount_untaxed", "invoice_status"])  # fmt: skip
    assert len(invoiced) == runs * len(plan.refunds)
    kinds = []
    for order in invoiced:
        moves = rpc.execute("account.move", "read", order["invoice_ids"],
                            fields=["move_type", "state", "amount_untaxed", "reversed_entry_id", "payment_state"])  # fmt: skip
        [invoice] = [m for m in moves if m["move_type"] == "out_invoice"]
        [refund] = [m for m in moves if m["move_type"] == "out_refund"]
        assert invoice["state"] == refund["state"] == "posted"
        assert refund["reversed_entry_id"][0] == invoice["id"]
        assert invoice["amount_untaxed"] == pytest.approx(order["amount_untaxed"])
        full = refund["amount_untaxed"] == pytest.approx(invoice["amount_untaxed"])
        assert full or 0 < refund["amount_untaxed"] < invoice["amount_untaxed"]
        kinds.append("full" if full else "partial")
    assert kinds.count("full") == runs * int((plan.refunds["kind"] == "full").sum())
    assert kinds.count("partial") == runs * int((plan.refunds["kind"] == "partial").sum())


def test_generated_records_open_like_orm_ones(generated, rpc):
    """Reading every field (computed ones included), as the form views do, works on generated records."""
    orders = generated["orders"]
    picked = [o["id"] for o in orders if o["state"] == "draft"][:2] + [o["id"] for o in orders][:3]
    records = rpc.execute("sale.order", "read", picked)
    assert all(r["tax_totals"]["total_amount_currency"] == r["amount_total"] for r in records)
    rpc.execute("sale.order.line", "read", [line for r in records for line in r["order_line"]])
    rpc.execute("res.partner", "read", list({r["partner_id"][0] for r in records}))
    views = rpc.execute("sale.order", "get_views", [[False, "form"], [False, "list"]])
    assert views["views"]["form"]["arch"]


def test_second_run_without_append_is_refused_and_changes_nothing(generated, rpc, odoo):
    before_count = rpc.execute("sale.order", "search_count", [])
    before_partners = rpc.execute("res.partner", "search_count", [])
    before_param = rpc.execute("ir.config_parameter", "get_param", "ecrm.demo_data_seed")
    result = _generate(generated["config"], odoo.db)
    assert result.returncode == 2
    assert "refusing to generate twice" in result.stderr
    assert rpc.execute("sale.order", "search_count", []) == before_count
    assert rpc.execute("res.partner", "search_count", []) == before_partners
    assert rpc.execute("ir.config_parameter", "get_param", "ecrm.demo_data_seed") == before_param


def test_generated_cart_confirms_and_confirmed_order_cancels_over_rpc(generated, rpc):
    orders = _generated_orders(rpc, fields=["state", "invoice_ids", "amount_total"])
    cart = next(o for o in orders if o["state"] == "draft")
    rpc.execute("sale.order", "action_confirm", [cart["id"]])
    [confirmed] = rpc.execute(
        "sale.order",
        "read",
        [cart["id"]],
        fields=["state", "amount_total", "invoice_status"],
    )
    assert confirmed["state"] == "sale"
    assert confirmed["amount_total"] == cart["amount_total"]
    assert confirmed["invoice_status"] == "to invoice"

    order = next(o for o in orders if o["state"] == "sale" and not o["invoice_ids"])
    rpc.execute("sale.order", "action_cancel", [order["id"]])
    [cancelled] = rpc.execute("sale.order", "read", [order["id"]], fields=["state", "order_line"])
    assert cancelled["state"] == "cancel"
    lines = rpc.execute(
        "sale.order.line",
        "read",
        cancelled["order_line"],
        fields=["state", "qty_to_invoice"],
    )
    assert all(line["state"] == "cancel" and line["qty_to_invoice"] == 0 for line in lines)
