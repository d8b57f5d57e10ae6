"""The pure part of the data generator: who buys what, when, and at which price.

Nothing here touches Odoo or the database: :func:`make_plan` turns (size, seed, today) into pandas tables
that the writer (``generate.py``) stores. The same arguments always give the same tables.

The buying behaviour follows the assumptions of the Pareto/NBD and BG/NBD models (Schmittlein, Morrison and
Colombo 1987; Fader, Hardie and Lee 2005) and of the Gamma-Gamma spend model (Fader, Hardie and Lee 2005):

* each customer is acquired at some time in the window and buys once at acquisition;
* while "alive", a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)`` (per day);
* after each purchase (the first included) the customer drops out for good with probability
  ``p ~ Beta(a, b)``; so some buy once and never again, some stay for years;
* the value of each order is ``Gamma(spend_shape, nu)`` with a per-customer ``nu ~ Gamma(spend_q, spend_gamma)``,
  so some customers spend much more per order than others, independently of how often they buy.

Counts, discounts, cancellations, carts and refunds are layered on top (see :class:`Params`).
"""

import dataclasses
import datetime
import hashlib

import numpy as np
import pandas as pd

try:
    from . import catalog
except ImportError:  # imported as a top-level module (tests/datagen on sys.path)
    import catalog


@dataclasses.dataclass(frozen=True)
class Size:
    customers: int
    products: int


# orders are not set directly: the model is calibrated to give about 10 orders per customer
SIZES = {
    "tiny": Size(customers=30, products=20),
    "demo": Size(customers=200, products=50),
    "small": Size(customers=2_000, products=120),
    "medium": Size(customers=20_000, products=250),
    "100k": Size(customers=100_000, products=500),
}


@dataclasses.dataclass(frozen=True)
class Params:
    """The knobs of the model; the defaults give ~10 orders per customer over 2.5 years."""

    window_days: int = 913  # orders span the 2.5 years before "today"
    acquisition_skew: float = 0.8  # acquisition at window * U**skew: more customers joined recently
    rate_shape: float = 0.9  # r: purchase rate lambda ~ Gamma(r, scale=1/alpha), per day
    rate_alpha: float = 10.0  # alpha: mean rate r/alpha = one order every ~11 days while alive
    dropout_a: float = 1.1  # p ~ Beta(a, b): dropout probability after each purchase
    dropout_b: float = 8.0
    spend_shape: float = 4.0  # order value ~ Gamma(spend_shape, scale=1/nu)
    spend_q: float = 3.5  # nu ~ Gamma(spend_q, scale=1/spend_gamma)
    spend_gamma: float = 50.0  # mean order value spend_shape * spend_gamma / (spend_q - 1) = 80
    zh_share: float = 0.5  # share of customers in Chinese (the rest en_US)
    us_share: float = 0.6  # of the English-speaking customers, share in the US (the rest in the UK)
    promo_share: float = 0.25  # promotion-sensitive customers
    promo_rate_sensitive: float = 0.45  # share of their orders with discounted lines
    promo_rate_other: float = 0.04
    cancel_rate: float = 0.04  # share of orders cancelled
    cart_rate: float = 0.25  # share of still-active customers with an open cart
    cart_days: int = 21  # open carts are at most this old
    lines_extra_mean: float = 0.7  # lines per order = 1 + Poisson(this), at most 6
    favourite_share: float = 0.55  # share of lines taken from the customer's favourite category
    new_product_share: float = 0.08  # "newly launched" products, created in the last new_product_days
    new_product_days: int = 45
    refund_share: float = 0.01  # refunded orders: min(refund_share * confirmed orders, refund_cap)
    refund_cap: int = 300
    full_refund_share: float = 0.4


DISCOUNTS = np.array([5, 10, 15, 20, 25, 30])
DISCOUNT_WEIGHTS = np.array([2, 5, 3, 4, 1, 2], dtype=float)
# share of orders per hour of the day: quiet at night, peaks at lunch and in the evening
HOUR_WEIGHTS = np.array(
    [2, 1, 0.6, 0.4, 0.3, 0.4, 1, 2, 3, 4, 5, 6, 7, 6, 5, 5, 5, 6, 6, 7, 9, 10, 8, 4],
    dtype=float,
)
STREAMS = ("products", "customers", "behaviour", "orders", "lines", "refunds")


@dataclasses.dataclass
class Plan:
    """Everything the generator writes, as tables. Money is in integer cents."""

    size: str
    seed: int
    today: datetime.date
    params: Params
    categories: list  # [(name_en, name_zh)]
    products: pd.DataFrame  # code, name_en, name_zh, categ, price_cents, created, is_new
    customers: pd.DataFrame  # name, email, phone, city, country, lang, birthday, created, model parameters...
    orders: pd.DataFrame  # customer, date_order, state, discount, amount_cents(_global) (sorted by date_order)
    lines: pd.DataFrame  # order, sequence, product, qty, price_cents, discount, raw, subtotal_cents
    refunds: pd.DataFrame  # order, kind (full/partial), date, line, qty, price_cents

    def digest(self):
        """A fingerprint of every generated value: equal plans have equal digests."""
        h = hashlib.sha256()
        for frame in (
            self.products,
            self.customers,
            self.orders,
            self.lines,
            self.refunds,
        ):
            h.update(pd.util.hash_pandas_object(frame, index=True).values.tobytes())
        return h.hexdigest()[:16]

    def summary(self):
        states = self.orders["state"].value_counts()
        return {
            "customers": len(self.customers),
            "products": len(self.products),
            "orders": len(self.orders),
            "confirmed": int(states.get("sale", 0)),
            "cancelled": int(states.get("cancel", 0)),
            "carts": int(states.get("draft", 0)),
            "lines": len(self.lines),
            "discounted_lines": int((self.lines["discount"] > 0).sum()),
            "refunds": len(self.refunds),
        }


def _weighted(rng, weights, n):
    weights = np.asarray(weights, dtype=float)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def _make_products(rng, n, params, today, window_start):
    combos = []  # (category, item, pack) per category, each category's combos shuffled
    per_category = []
    for ci, (_cat, items, packs) in enumerate(catalog.CATEGORIES):
        mine = [(ci, ii, pi) for ii in range(len(items)) for pi in range(len(packs))]
        per_category.append([mine[k] for k in rng.permutation(len(mine))])
    depth = max(len(c) for c in per_category)
    for rank in range(depth):  # round robin over categories: every size has every category
        combos.extend(c[rank] for c in per_category if rank < len(c))
    combos = combos[:n]
    rows = []
    jitter = rng.uniform(0.9, 1.1, size=len(combos))
    for (ci, ii, pi), jit in zip(combos, jitter):
        _cat, items, packs = catalog.CATEGORIES[ci]
        item_en, item_zh, base = items[ii]
        pack_en, pack_zh, factor = packs[pi]
        price = base * factor * jit
        cents = max(190, round(float(price)) * 100 - 10)  # 27.90, 4.90, ...
        rows.append(
            (
                f"EC-{ci + 1:02d}{ii + 1:02d}{pi + 1}",
                f"{item_en}, {pack_en}",
                f"{item_zh}（{pack_zh}）",
                ci,
                cents,
            )
        )
    products = pd.DataFrame(rows, columns=["code", "name_en", "name_zh", "categ", "price_cents"])
    # popularity follows a Zipf-like law over a random ranking
    products["popularity"] = 1.0 / (rng.permutation(len(products)) + 3.0)
    n_new = max(1, round(len(products) * params.new_product_share))
    is_new = np.zeros(len(products), dtype=bool)
    is_new[rng.choice(len(products), size=n_new, replace=False)] = True
    days_back = np.where(
        is_new,
        rng.uniform(1, params.new_product_days, len(products)),
        params.window_days + rng.uniform(1, 90, len(products)),
    )
    products["created"] = _to_datetime(today, -days_back)
    products["is_new"] = is_new
    return products


def _to_datetime(today, day_offsets):
    """Offsets in days (floats) from today 00:00 to datetime64[s]."""
    base = np.datetime64(today, "s")
    return base + np.round(np.asarray(day_offsets) * 86400).astype("timedelta64[s]")


def _make_customers(rng, n, params):
    is_zh = rng.random(n) < params.zh_share
    is_us = rng.random(n) < params.us_share
    country = np.where(is_zh, "CN", np.where(is_us, "US", "GB"))
    lang = np.where(is_zh, "zh_CN", "en_US")

    sur = _weighted(rng, [w for _s, _p, w in catalog.ZH_SURNAMES], n)
    g1 = rng.integers(len(catalog.ZH_GIVEN), size=n)
    g2 = rng.integers(len(catalog.ZH_GIVEN), size=n)
    two_chars = rng.random(n) < 0.7
    first = rng.integers(len(catalog.EN_FIRST), size=n)
    last = rng.integers(len(catalog.EN_LAST), size=n)
    zh_city = _weighted(rng, [w for _c, w in catalog.ZH_CITIES], n)
    us_city = _weighted(rng, [w for _c, w in catalog.US_CITIES], n)
    gb_city = _weighted(rng, [w for _c, w in catalog.GB_CITIES], n)
    domain = rng.integers(12, size=n)
    digits = rng.integers(0, 10**8, size=n)
    prefix = rng.choice(
        [
            130,
            131,
            132,
            133,
            135,
            136,
            137,
            138,
            139,
            150,
            151,
            152,
            155,
            158,
            159,
            176,
            177,
            180,
            181,
            186,
            187,
            188,
            189,
            191,
            199,
        ],
        size=n,
    )
    area = rng.choice(catalog.US_AREA_CODES, size=n)
    fiction = rng.integers(0, 100, size=n)  # 555-0100..0199, 07700 900000..900999
    fiction_uk = rng.integers(0, 1000, size=n)
    # ages 18-75, most between 25 and 45
    age_days = (18 + rng.gamma(4.0, 4.5, size=n).clip(0, 57)) * 365.25

    names, emails, phones, cities = [], [], [], []
    for i in range(n):
        if is_zh[i]:
            s, s_py, _w = catalog.ZH_SURNAMES[sur[i]]
            c1, p1 = catalog.ZH_GIVEN[g1[i]]
            c2, p2 = catalog.ZH_GIVEN[g2[i]]
            given, given_py = (c1 + c2, p1 + p2) if two_chars[i] else (c1, p1)
            names.append(s + given)
            emails.append(f"{given_py}.{s_py}{i + 1}@{catalog.ZH_MAIL_DOMAINS[domain[i] % 3]}")
            d = f"{digits[i]:08d}"
            phones.append(f"+86 {prefix[i]} {d[:4]} {d[4:]}")
            cities.append(catalog.ZH_CITIES[zh_city[i]][0])
        else:
            f, la = catalog.EN_FIRST[first[i]], catalog.EN_LAST[last[i]]
            names.append(f"{f} {la}")
            emails.append(f"{f.lower()}.{la.lower()}{i + 1}@{catalog.EN_MAIL_DOMAINS[domain[i] % 4]}")
            if country[i] == "US":
                phones.append(f"+1 {area[i]}-555-01{fiction[i]:02d}")
                cities.append(catalog.US_CITIES[us_city[i]][0])
            else:
                phones.append(f"+44 7700 900{fiction_uk[i]:03d}")
                cities.append(catalog.GB_CITIES[gb_city[i]][0])
    return pd.DataFrame(
        {
            "name": names,
            "email": emails,
            "phone": phones,
            "city": cities,
            "country": country,
            "lang": lang,
            "age_days": age_days,
        }
    )


def _simulate(rng, customers, params):
    """Acquisition and purchase times per customer (BG/NBD-style); returns (customer, day offset) arrays."""
    n = len(customers)
    window = float(params.window_days)
    acq = window * rng.random(n) ** params.acquisition_skew  # days after window start
    lam = rng.gamma(params.rate_shape, 1.0 / params.rate_alpha, size=n)
    p = rng.beta(params.dropout_a, params.dropout_b, size=n)
    nu = rng.gamma(params.spend_q, 1.0 / params.spend_gamma, size=n)
    remaining = window - acq
    lifetime = rng.geometric(p)  # purchases before dropping out, the first included (if nothing stopped it)
    expected = lam * remaining
    cap = np.ceil(expected + 6 * np.sqrt(expected) + 10).astype(np.int64)
    n_gaps = np.minimum(lifetime, cap) - 1
    total = int(n_gaps.sum())
    owner = np.repeat(np.arange(n), n_gaps)
    gaps = rng.exponential(1.0, size=total) / lam[owner]
    csum = np.cumsum(gaps)
    starts = np.cumsum(n_gaps) - n_gaps
    before = np.concatenate([[0.0], csum])[starts]  # cumulative sum before each customer's first gap
    times = csum - np.repeat(before, n_gaps)
    inside = times < remaining[owner]
    repeat_owner = owner[inside]
    repeat_time = acq[repeat_owner] + times[inside]
    n_repeat = np.bincount(repeat_owner, minlength=n)
    customers["acquired"] = acq
    customers["rate"] = lam
    customers["dropout"] = p
    customers["spend_nu"] = nu
    customers["orders"] = 1 + n_repeat
    # alive at the end of the window: neither dropped out nor stopped by the cap
    customers["dropped"] = lifetime == 1 + n_repeat
    owners = np.concatenate([np.arange(n), repeat_owner])
    times = np.concatenate([acq, repeat_time])
    return owners, times


def make_plan(size, seed, today, params=None):
    """The whole data set for ``size`` (a key of :data:`SIZES` or a :class:`Size`), ``seed`` and ``today``."""
    params = params or Params()
    spec = SIZES[size] if isinstance(size, str) else size
    rngs = dict(
        zip(
            STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STREAMS))),
        )
    )
    window = params.window_days

    products = _make_products(rngs["products"], spec.products, params, today, None)
    n_cat = len(catalog.CATEGORIES)

    rng = rngs["customers"]
    customers = _make_customers(rng, spec.customers, params)
    n = len(customers)
    customers["promo"] = rng.random(n) < params.promo_share
    cat_weight = products.groupby("categ")["popularity"].sum().reindex(range(n_cat), fill_value=0).to_numpy()
    customers["favourite"] = _weighted(rng, cat_weight, n)

    rng = rngs["behaviour"]
    owners, times = _simulate(rng, customers, params)
    # open carts: some customers still active at the end have a recent quotation they never confirmed
    active = ~customers["dropped"].to_numpy()
    has_cart = active & (rng.random(n) < params.cart_rate)
    cart_time = window - rng.uniform(0.05, params.cart_days, size=n)
    cart_time = np.maximum(cart_time, customers["acquired"].to_numpy() + 0.02)
    has_cart &= cart_time < window
    cart_owner = np.flatnonzero(has_cart)

    rng = rngs["orders"]
    n_hist = len(owners)
    all_owner = np.concatenate([owners, cart_owner])
    all_time = np.concatenate([times, cart_time[cart_owner]])
    state = np.where(rng.random(n_hist) < params.cancel_rate, "cancel", "sale")
    state = np.concatenate([state, np.full(len(cart_owner), "draft")])
    n_orders = len(all_owner)
    # day from the simulation, time of day from the hourly profile
    day = np.floor(all_time)
    seconds = _weighted(rng, HOUR_WEIGHTS, n_orders) * 3600 + rng.integers(0, 3600, n_orders)
    date_order = np.datetime64(today, "s") + ((day - window) * 86400 + seconds).astype("timedelta64[s]")
    promo = customers["promo"].to_numpy()[all_owner]
    discounted = rng.random(n_orders) < np.where(promo, params.promo_rate_sensitive, params.promo_rate_other)
    discount = np.where(discounted, DISCOUNTS[_weighted(rng, DISCOUNT_WEIGHTS, n_orders)], 0)
    nu = customers["spend_nu"].to_numpy()[all_owner]
    value = rng.gamma(params.spend_shape, 1.0 / nu)
    n_lines = np.minimum(1 + rng.poisson(params.lines_extra_mean, n_orders), 6)
    orders = pd.DataFrame(
        {
            "customer": all_owner,
            "date_order": date_order,
            "state": state,
            "discount": discount,
            "value": value,
            "n_lines": n_lines,
        }
    )
    orders = orders.sort_values(["date_order", "customer"], kind="stable").reset_index(drop=True)

    # customers sign up shortly before their first order
    first_order = orders.groupby("customer")["date_order"].min().reindex(range(n)).to_numpy()
    signup = rng.uniform(0, 3 * 86400, n).astype("timedelta64[s]")
    customers["created"] = first_order - signup
    customers["birthday"] = np.datetime64(today, "D") - np.round(customers.pop("age_days").to_numpy()).astype(
        "timedelta64[D]"
    )

    lines = _make_lines(rngs["lines"], orders, customers, products, params)
    by_order = lines.groupby("order")
    # the order total as Odoo rounds it: the sum of rounded lines ("round per line"), or the rounded sum of
    # the lines ("round globally", the default of a new company)
    orders["amount_cents"] = by_order["subtotal_cents"].sum().reindex(range(len(orders)), fill_value=0).to_numpy()
    raw = by_order["raw"].sum().reindex(range(len(orders)), fill_value=0).to_numpy()
    orders["amount_cents_global"] = (raw + 50) // 100
    orders["n_lines"] = lines.groupby("order").size().reindex(range(len(orders)), fill_value=0).to_numpy()
    orders = orders.drop(columns=["value"])

    refunds = _make_refunds(rngs["refunds"], orders, lines, today, params)
    return Plan(
        size=size if isinstance(size, str) else "custom",
        seed=seed,
        today=today,
        params=params,
        categories=[cat for cat, _items, _packs in catalog.CATEGORIES],
        products=products,
        customers=customers,
        orders=orders,
        lines=lines,
        refunds=refunds,
    )


def _make_lines(rng, orders, customers, products, params):
    n_lines = orders["n_lines"].to_numpy()
    order = np.repeat(np.arange(len(orders)), n_lines)
    total = len(order)
    cust = orders["customer"].to_numpy()[order]
    fav = customers["favourite"].to_numpy()[cust]
    pop = products["popularity"].to_numpy()
    categ = products["categ"].to_numpy()
    product = _weighted(rng, pop, total)
    from_fav = rng.random(total) < params.favourite_share
    for c in np.unique(fav[from_fav]):
        in_cat = np.flatnonzero(categ == c)
        pick = from_fav & (fav == c)
        if len(in_cat):
            product[pick] = in_cat[_weighted(rng, pop[in_cat], int(pick.sum()))]
    # a product cannot be sold before it is launched: take an established one instead
    created = products["created"].to_numpy()
    early = created[product] > orders["date_order"].to_numpy()[order]
    established = np.flatnonzero(~products["is_new"].to_numpy())
    product[early] = established[_weighted(rng, pop[established], int(early.sum()))]

    price = products["price_cents"].to_numpy()[product]
    share = orders["value"].to_numpy()[order] / n_lines[order]
    qty = np.clip(np.round(share * 100 / price), 1, 12).astype(np.int64)
    discount = orders["discount"].to_numpy()[order]
    lines = pd.DataFrame(
        {
            "order": order,
            "product": product,
            "qty": qty,
            "price_cents": price,
            "discount": discount,
        }
    )
    lines = lines.drop_duplicates(["order", "product"]).reset_index(drop=True)
    lines["sequence"] = 10 * (lines.groupby("order").cumcount() + 1)
    # what Odoo computes for an untaxed line: price * (1 - discount / 100) * qty, rounded half-up to the cent
    lines["raw"] = lines["price_cents"] * (100 - lines["discount"]) * lines["qty"]  # in hundredths of a cent
    lines["subtotal_cents"] = (lines["raw"] + 50) // 100
    return lines


def _make_refunds(rng, orders, lines, today, params):
    confirmed = orders["state"].to_numpy() == "sale"
    old_enough = orders["date_order"].to_numpy() < np.datetime64(today, "s") - np.timedelta64(14, "D")
    candidates = np.flatnonzero(confirmed & old_enough)
    n = min(
        max(round(params.refund_share * confirmed.sum()), min(3, len(candidates))),
        params.refund_cap,
    )
    n = min(n, len(candidates))
    chosen = np.sort(rng.choice(candidates, size=n, replace=False))
    kinds = np.where(rng.random(n) < params.full_refund_share, "full", "partial")
    kinds[:2] = ["full", "partial"][: min(2, n)]  # both kinds exist at every size
    delay = rng.integers(3, 30, size=n).astype("timedelta64[D]")
    date = (orders["date_order"].to_numpy()[chosen].astype("datetime64[D]") + delay).clip(
        max=np.datetime64(today, "D") - 1
    )
    # a partial refund credits part of the order's first line: half its quantity, or half its price if it is one
    first_line = lines.groupby("order").head(1).set_index("order")
    qty = first_line["qty"].reindex(chosen).to_numpy()
    price = first_line["price_cents"].reindex(chosen).to_numpy()
    partial_qty = np.where(qty > 1, qty // 2, 1)
    partial_price = np.where(qty > 1, price, (price + 1) // 2)
    return pd.DataFrame(
        {
            "order": chosen,
            "kind": kinds,
            "date": date,
            "qty": np.where(kinds == "partial", partial_qty, 0),
            "price_cents": np.where(kinds == "partial", partial_price, 0),
        }
    )
