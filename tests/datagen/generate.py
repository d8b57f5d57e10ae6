#!/usr/bin/env python3
"""Generate customers, a product catalogue and 2.5 years of orders into an Odoo 19 database.

    python tests/datagen/generate.py --config ODOO_CONF -d DB --size tiny|demo|small|medium|100k
                                     [--seed 42] [--today YYYY-MM-DD] [--create] [--append]

The plan (who buys what, when, at which price) comes from ``sampling.make_plan`` and is the same for the
same size, seed and "today". Catalogue, languages and refunds go through the ORM; customers, orders and
order lines are inserted in bulk: each generated row copies an ORM-made template row (made in a savepoint
that is rolled back) and overrides only the columns that differ, so every stored column, whatever addon
added it, holds what the ORM would have stored. A sample of the generated records is then recomputed by
the ORM and compared, and the run fails (leaving the database untouched) if anything differs.
See README.md next to this file.
"""

import argparse
import datetime
import io
import os
import subprocess
import sys
import time
import typing
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


from datagen import sampling  # noqa: E402  (after the sys.path set-up above)

ADDONS = ["ecrm_segments", "ecrm_loyalty", "ecrm_marketing", "ecrm_helpdesk"]
SEED_PARAM = "ecrm.demo_data_seed"
SAMPLE = 25  # records per model and state recomputed by the ORM to check the bulk-inserted values


def say(message):
    print(f"[datagen] {message}", file=sys.stderr, flush=True)


class Phase:
    """Times one phase and reports its count and rate on stderr."""

    timings: typing.ClassVar[dict] = {}

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.started = time.perf_counter()
        self.count = None
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type:
            return
        seconds = time.perf_counter() - self.started
        Phase.timings[self.name] = seconds
        if self.count is None:
            say(f"{self.name}: {seconds:.1f} s")
        else:
            rate = self.count / seconds if seconds > 0 else 0
            say(f"{self.name}: {self.count:,} in {seconds:.1f} s ({rate:,.0f}/s)")


# ---------------------------------------------------------------------------- Odoo bootstrap


def read_config(path):
    import configparser

    parser = configparser.ConfigParser()
    parser.read(path)
    return dict(parser["options"]) if parser.has_section("options") else {}


def find_odoo_src(options):
    candidates = [os.environ.get("ECRM_ODOO_SRC"), os.environ.get("ODOO_SRC")]
    candidates += [str(Path(p.strip()).parent) for p in options.get("addons_path", "").split(",") if p.strip()]
    candidates.append(str(Path.home() / ".local/src/odoo-19.0"))
    for candidate in candidates:
        if candidate and (Path(candidate) / "odoo-bin").exists():
            return Path(candidate)
    sys.exit("[datagen] Odoo 19.0 source not found: set ODOO_SRC to the folder holding odoo-bin.")


def database_exists(options, db):
    import psycopg2

    conn = psycopg2.connect(
        host=options.get("db_host") or None,
        port=options.get("db_port") or None,
        user=options.get("db_user") or None,
        password=options.get("db_password") or None,
        dbname="postgres",
    )
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
            return bool(cr.fetchone())
    finally:
        conn.close()


def create_database(odoo_src, config, db):
    say(f"Creating database {db!r} with {', '.join(ADDONS)}")
    cmd = [
        sys.executable,
        str(odoo_src / "odoo-bin"),
        "-c",
        config,
        "-d",
        db,
        "-i",
        ",".join(ADDONS),
        "--stop-after-init",
        "--log-level",
        "warn",
    ]
    rc = subprocess.call(cmd)
    if rc:
        sys.exit(f"[datagen] installing the addons into {db!r} failed (exit status {rc})")


# ---------------------------------------------------------------------------- the writer


class Writer:
    """Writes a :class:`sampling.Plan` into the database of ``env``."""

    def __init__(self, env, plan):
        from odoo.tools import SQL

        self.SQL = SQL
        self.env = env
        self.cr = env.cr
        self.plan = plan
        self.company = env.company
        self.counts = {}

    # -- helpers

    def copy_frame(self, table, frame):
        """COPY a DataFrame into a temporary table whose columns are the frame's, in order."""
        buf = io.StringIO()
        frame.to_csv(buf, index=False, header=False)
        buf.seek(0)
        cols = ", ".join(f'"{c}"' for c in frame.columns)  # our own column names
        self.cr._obj.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '')", buf)

    def columns(self, table):
        self.cr.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND table_schema = 'public' "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [row[0] for row in self.cr.fetchall()]

    def fetch_rows(self, table, ids):
        self.cr.execute(
            self.SQL(
                "SELECT * FROM %s WHERE id = ANY(%s) ORDER BY id",
                self.SQL.identifier(table),
                ids,
            )
        )
        names = [d[0] for d in self.cr.description]
        return [dict(zip(names, row)) for row in self.cr.fetchall()]

    def store_templates(self, table, rows, key):
        """Keep ORM-made rows of ``table`` (keyed by ``key(row)``) in a temporary table ``datagen_tpl_<table>``."""
        from psycopg2.extras import Json

        tpl = f"datagen_tpl_{table}"
        self.cr.execute(
            self.SQL(
                "CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT * FROM %s LIMIT 0",
                self.SQL.identifier(tpl),
                self.SQL.identifier(table),
            )
        )
        self.cr.execute(self.SQL("ALTER TABLE %s ADD COLUMN tpl_key varchar", self.SQL.identifier(tpl)))
        for row in rows:
            values = {c: Json(v) if isinstance(v, (dict, list)) else v for c, v in row.items()}
            values["tpl_key"] = key(row)
            self.cr.execute(
                self.SQL(
                    "INSERT INTO %s (%s) VALUES (%s)",
                    self.SQL.identifier(tpl),
                    self.SQL(", ").join(self.SQL.identifier(c) for c in values),
                    self.SQL(", ").join(self.SQL("%s", v) for v in values.values()),
                )
            )
        return tpl

    def insert_from_template(self, table, tmp, tpl, join, overrides, with_id=True):
        """INSERT INTO table SELECT (override or template column) FROM tmp t JOIN tpl p ON join."""
        SQL = self.SQL
        cols = [c for c in self.columns(table) if c != "id" or with_id]
        missing = set(overrides) - set(cols) - {"id"}
        if missing:
            raise RuntimeError(f"{table} has no column(s) {sorted(missing)}: this Odoo is not the expected 19.0")
        exprs = [SQL(overrides[c]) if c in overrides else SQL("p.%s", SQL.identifier(c)) for c in cols]
        self.cr.execute(
            SQL(
                "INSERT INTO %s (%s) SELECT %s FROM %s t JOIN %s p ON %s",
                SQL.identifier(table),
                SQL(", ").join(SQL.identifier(c) for c in cols),
                SQL(", ").join(exprs),
                SQL.identifier(tmp),
                SQL.identifier(tpl),
                SQL(join),
            )
        )
        return self.cr.rowcount

    def reserve_ids(self, table, n):
        """Take ``n`` consecutive ids from the table's sequence."""
        if not n:
            return 0
        self.cr.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")  # table names are ours
        self.cr.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            (table, table, n),
        )
        last = self.cr.fetchone()[0]
        return last - n + 1

    def skip_foreign_key_checks(self, skip):
        """Foreign keys are checked by triggers, one query per inserted row: five times the cost of the insert.

        The bulk rows reference only ids taken from the database in this transaction, so the checks are skipped
        for the insert (``session_replication_role = replica``, which needs a superuser role; without it the
        insert is just slower) and :meth:`check_references` checks the references once, set-based.
        """
        if not skip:
            self.cr.execute("SET LOCAL session_replication_role = DEFAULT")
            return False
        try:
            with self.cr.savepoint(flush=False):
                self.cr.execute("SET LOCAL session_replication_role = replica")
        except Exception:
            say("foreign keys checked row by row (the database role is not a superuser): the insert is slower")
            return False
        return True

    def check_references(self):
        """The references the bulk insert wrote point at existing rows (what the skipped triggers would check)."""
        self.cr.execute(
            """
            SELECT (SELECT count(*) FROM datagen_order t LEFT JOIN res_partner p ON p.id = t.partner_id
                     WHERE p.id IS NULL)
                 + (SELECT count(*) FROM datagen_line t LEFT JOIN sale_order o ON o.id = t.order_id
                     WHERE o.id IS NULL)
                 + (SELECT count(*) FROM datagen_line t LEFT JOIN product_product p ON p.id = t.product_id
                     WHERE p.id IS NULL)
            """
        )
        broken = self.cr.fetchone()[0]
        if broken:
            raise RuntimeError(f"{broken} generated row(s) reference missing records")

    # -- phases

    def run(self):
        self.write_languages()
        self.write_catalogue()
        self.make_templates()
        fast = self.skip_foreign_key_checks(True)
        self.write_partners()
        self.write_orders()
        self.write_lines()
        if fast:
            self.skip_foreign_key_checks(False)
            self.check_references()
        self.finish_bulk()
        self.verify()
        self.write_refunds()

    def write_languages(self):
        with Phase("languages"):
            lang = self.env["res.lang"].with_context(active_test=False).search([("code", "=", "zh_CN")])
            if not lang.active:
                say("loading the zh_CN language (first run only)")
                wizard = self.env["base.language.install"].create({"lang_ids": [(6, 0, lang.ids)]})
                wizard.lang_install()
            self.countries = {c.code: c for c in self.env["res.country"].search([("code", "in", ["CN", "US", "GB"])])}

    def write_catalogue(self):
        plan = self.plan
        env = self.env
        with Phase("catalogue") as phase:
            Category = env["product.category"]
            root = Category.search([("name", "=", "Shop"), ("parent_id", "=", False)], limit=1)
            if not root:
                root = Category.create({"name": "Shop"})
            existing = {c.name: c for c in Category.search([("parent_id", "=", root.id)])}
            categories = []
            # product category names are not translatable in Odoo: English only
            for name_en, _name_zh in plan.categories:
                category = existing.get(name_en)
                if not category:
                    category = Category.create({"name": name_en, "parent_id": root.id})
                categories.append(category)
            Product = env["product.product"].with_context(active_test=False)
            products = plan.products
            found = {p.default_code: p for p in Product.search([("default_code", "in", products["code"].tolist())])}
            to_create = products[~products["code"].isin(list(found))]
            vals = [
                {
                    "name": row.name_en,
                    "default_code": row.code,
                    "categ_id": categories[row.categ].id,
                    "list_price": row.price_cents / 100,
                    "type": "consu",
                    "sale_ok": True,
                    "invoice_policy": "order",
                    "taxes_id": [(6, 0, [])],  # untaxed: order totals are the sums of their lines
                }
                for row in to_create.itertuples()
            ]
            created = Product.create(vals)
            for product, row in zip(created, to_create.itertuples()):
                found[row.code] = product
            if len(created):
                # zh_CN names, and launch dates: "newly launched" products were created recently
                self.cr.execute(
                    """
                    UPDATE product_template pt
                       SET name = pt.name || jsonb_build_object('zh_CN', v.name_zh),
                           create_date = v.created, write_date = v.created
                      FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::text[]) AS name_zh,
                                   unnest(%s::timestamp[]) AS created) v
                      JOIN product_product pp ON pp.id = v.id
                     WHERE pt.id = pp.product_tmpl_id
                    """,
                    (
                        created.ids,
                        to_create["name_zh"].tolist(),
                        [str(d) for d in to_create["created"]],
                    ),
                )
                self.cr.execute(
                    """
                    UPDATE product_product pp SET create_date = v.created, write_date = v.created
                      FROM (SELECT unnest(%s::int[]) AS id, unnest(%s::timestamp[]) AS created) v
                     WHERE pp.id = v.id
                    """,
                    (created.ids, [str(d) for d in to_create["created"]]),
                )
                env["product.template"].invalidate_model()
                env["product.product"].invalidate_model()
            self.product_ids = [found[code].id for code in products["code"]]
            phase.count = len(created)
            self.counts["products created"] = len(created)

    def make_templates(self):
        """ORM-made partner, orders and lines, kept as rows to copy, then rolled back."""
        env = self.env
        with Phase("templates"):
            with self.cr.savepoint() as savepoint:
                partners = env["res.partner"].create(
                    [
                        {
                            "name": f"Template {code}",
                            "email": f"template.{code.lower()}@example.com",
                            "phone": "+1 212-555-0100",
                            "city": "Template",
                            "country_id": country.id,
                            "lang": "zh_CN" if code == "CN" else "en_US",
                            "customer_rank": 1,
                        }
                        for code, country in self.countries.items()
                    ]
                )
                env.flush_all()  # stored fields computed at flush time
                partner_rows = self.fetch_rows("res_partner", partners.ids)
                Order = env["sale.order"]
                one_line = [(0, 0, {"product_id": self.product_ids[0], "product_uom_qty": 1})]
                draft = Order.create(
                    {
                        "name": "TEMPLATE-DRAFT",
                        "partner_id": partners[0].id,
                        "order_line": [(0, 0, {"product_id": pid, "product_uom_qty": 1}) for pid in self.product_ids],
                    }
                )
                confirmed = Order.create(
                    {
                        "name": "TEMPLATE-SALE",
                        "partner_id": partners[0].id,
                        "order_line": one_line,
                    }
                )
                confirmed.action_confirm()
                cancelled = Order.create(
                    {
                        "name": "TEMPLATE-CANCEL",
                        "partner_id": partners[0].id,
                        "order_line": one_line,
                    }
                )
                cancelled.action_confirm()
                cancelled._action_cancel()
                env.flush_all()
                order_rows = self.fetch_rows("sale_order", (draft | confirmed | cancelled).ids)
                line_rows = self.fetch_rows("sale_order_line", draft.order_line.ids)
                state_lines = self.fetch_rows("sale_order_line", (confirmed | cancelled).order_line.ids)
                savepoint.rollback()
            env.registry.clear_cache()
            self.check_state_columns(line_rows, state_lines)
            country_of = {p.id: code for code, p in zip(self.countries, partners)}
            self.tpl_partner = self.store_templates("res_partner", partner_rows, lambda r: country_of[r["id"]])
            self.tpl_order = self.store_templates("sale_order", order_rows, lambda r: r["state"])
            self.tpl_line = self.store_templates("sale_order_line", line_rows, lambda r: str(r["product_id"]))
            template = {r["state"]: r for r in order_rows}
            self.order_invoice_status = {state: row["invoice_status"] for state, row in template.items()}

    # line columns that change with the order's state; any other difference means the bulk path is out of date
    STATE_LINE_COLUMNS = frozenset(
        {
            "id",
            "order_id",
            "state",
            "invoice_status",
            "qty_to_invoice",
            "untaxed_amount_to_invoice",
            "create_date",
            "write_date",
        }
    )

    def check_state_columns(self, draft_lines, state_lines):
        by_product = {r["product_id"]: r for r in draft_lines}
        for row in state_lines:
            base = by_product[row["product_id"]]
            changed = {c for c in row if row[c] != base[c]} - self.STATE_LINE_COLUMNS
            if changed:
                raise RuntimeError(
                    f"confirming or cancelling an order also changes sale_order_line columns {sorted(changed)}, "
                    "which the bulk insert does not handle yet"
                )

    def write_partners(self):
        plan = self.plan
        customers = plan.customers
        env = self.env
        with Phase("customers") as phase:
            n = len(customers)
            first = self.reserve_ids("res_partner", n)
            self.partner_ids = list(range(first, first + n))
            from odoo.tools import email_normalize

            Partner = env["res.partner"]
            sanitized = [
                Partner._phone_format_number(phone, self.countries[country], force_format="E164") or ""
                for phone, country in zip(customers["phone"], customers["country"])
            ]
            has_birthday = "ecrm_birthday" in Partner._fields and Partner._fields["ecrm_birthday"].store
            frame = customers[["name", "email", "phone", "city", "country"]].copy()
            frame.insert(0, "id", self.partner_ids)
            frame["email_normalized"] = [email_normalize(e, strict=False) or "" for e in customers["email"]]
            frame["phone_sanitized"] = sanitized
            frame["create_date"] = customers["created"].astype(str)
            frame["birthday"] = customers["birthday"].astype(str)
            self.cr.execute(
                """
                CREATE TEMP TABLE datagen_partner (
                    id int, name varchar, email varchar, phone varchar, city varchar, country varchar,
                    email_normalized varchar, phone_sanitized varchar, create_date timestamp, birthday date
                ) ON COMMIT DROP
                """
            )
            self.copy_frame("datagen_partner", frame)
            overrides = {
                "id": "t.id",
                "name": "t.name",
                "complete_name": "t.name",
                "commercial_partner_id": "t.id",
                "email": "t.email",
                "email_normalized": "t.email_normalized",
                "phone": "t.phone",
                "phone_sanitized": "t.phone_sanitized",
                "city": "t.city",
                "create_date": "t.create_date",
                "write_date": "t.create_date",
            }
            if has_birthday:
                overrides["ecrm_birthday"] = "t.birthday"
            phase.count = self.insert_from_template(
                "res_partner",
                "datagen_partner",
                self.tpl_partner,
                "p.tpl_key = t.country",
                overrides,
            )
            self.counts["customers"] = phase.count
            self.counts["birthdays stored"] = n if has_birthday else 0

    def order_names(self, n):
        """The next ``n`` names of the sale.order sequence, which is advanced past them."""
        seq = self.env["ir.sequence"].search(
            [
                ("code", "=", "sale.order"),
                ("company_id", "in", [self.company.id, False]),
            ],
            order="company_id",
            limit=1,
        )
        if not seq:
            raise RuntimeError("no ir.sequence with code sale.order")
        if seq.use_date_range:
            raise RuntimeError("the sale.order sequence uses date ranges, which the bulk insert does not support")
        start = seq.number_next_actual
        prefix, suffix = seq._get_prefix_suffix()
        step = seq.number_increment
        names = [f"{prefix}{start + k * step:0{seq.padding}d}{suffix}" for k in range(n)]
        seq.write({"number_next": start + n * step})
        return names

    def write_orders(self):
        plan = self.plan
        orders = plan.orders
        with Phase("orders") as phase:
            n = len(orders)
            first = self.reserve_ids("sale_order", n)
            self.order_ids = list(range(first, first + n))
            partner_ids = np.asarray(self.partner_ids)[orders["customer"].to_numpy()]
            # the order total as Odoo rounds it for this company
            rounding = self.company.tax_calculation_rounding_method
            amount = orders["amount_cents_global" if rounding == "round_globally" else "amount_cents"]
            frame = orders[["state"]].copy()
            frame.insert(0, "id", self.order_ids)
            frame["name"] = self.order_names(n)
            frame["partner_id"] = partner_ids
            frame["date_order"] = orders["date_order"].astype(str)
            frame["amount_cents"] = amount
            self.cr.execute(
                """
                CREATE TEMP TABLE datagen_order (
                    id int, state varchar, name varchar, partner_id int, date_order timestamp, amount_cents bigint
                ) ON COMMIT DROP
                """
            )
            self.copy_frame("datagen_order", frame)
            amount_sql = "round(t.amount_cents / 100.0, 2)"
            overrides = {
                "id": "t.id",
                "name": "t.name",
                "partner_id": "t.partner_id",
                "partner_invoice_id": "t.partner_id",
                "partner_shipping_id": "t.partner_id",
                "date_order": "t.date_order",
                "create_date": "t.date_order",
                "write_date": "t.date_order",
                "amount_untaxed": amount_sql,
                "amount_tax": "0",
                "amount_total": amount_sql,
                "access_token": "NULL",
                "validity_date": "CASE WHEN p.validity_date IS NULL THEN NULL "
                "ELSE t.date_order::date + (p.validity_date - p.create_date::date) END",
            }
            phase.count = self.insert_from_template(
                "sale_order",
                "datagen_order",
                self.tpl_order,
                "p.tpl_key = t.state",
                overrides,
            )
            self.counts["orders"] = phase.count

    def write_lines(self):
        plan = self.plan
        lines = plan.lines
        with Phase("order lines") as phase:
            order_ids = self.order_ids
            frame = lines[["sequence", "qty", "price_cents", "discount", "subtotal_cents"]].copy()
            frame.insert(0, "order_id", [order_ids[o] for o in lines["order"]])
            frame.insert(1, "product_id", [self.product_ids[p] for p in lines["product"]])
            self.cr.execute(
                """
                CREATE TEMP TABLE datagen_line (
                    order_id int, product_id int, sequence int, qty int, price_cents int, discount int,
                    subtotal_cents bigint
                ) ON COMMIT DROP
                """
            )
            self.copy_frame("datagen_line", frame)
            self.cr.execute("ANALYZE datagen_line")
            # the order's state and partner come from the rows just inserted
            self.cr.execute(
                """
                CREATE TEMP TABLE datagen_line_full ON COMMIT DROP AS
                SELECT l.*, o.state, o.partner_id, o.date_order
                  FROM datagen_line l JOIN datagen_order o ON o.id = l.order_id
                """
            )
            subtotal = "round(t.subtotal_cents / 100.0, 2)"
            in_sale = "t.state = 'sale'"
            overrides = {
                "order_id": "t.order_id",
                "sequence": "t.sequence",
                "product_uom_qty": "t.qty",
                "price_unit": "round(t.price_cents / 100.0, 2)",
                "technical_price_unit": "t.price_cents / 100.0",
                "discount": "t.discount",
                "price_subtotal": subtotal,
                "price_total": subtotal,
                "price_tax": "0",
                "price_reduce_taxexcl": "round(t.subtotal_cents / 100.0 / t.qty, 2)",
                "price_reduce_taxinc": "round(t.subtotal_cents / 100.0 / t.qty, 2)",
                "state": "t.state",
                "invoice_status": f"CASE WHEN {in_sale} THEN 'to invoice' ELSE 'no' END",
                "qty_to_invoice": f"CASE WHEN {in_sale} THEN t.qty ELSE 0 END",
                "untaxed_amount_to_invoice": f"CASE WHEN {in_sale} THEN {subtotal} ELSE 0 END",
                "qty_delivered": "0",
                "qty_invoiced": "0",
                "untaxed_amount_invoiced": "0",
                "order_partner_id": "t.partner_id",
                "create_date": "t.date_order",
                "write_date": "t.date_order",
            }
            phase.count = self.insert_from_template(
                "sale_order_line",
                "datagen_line_full",
                self.tpl_line,
                "p.tpl_key = t.product_id::varchar",
                overrides,
                with_id=False,
            )
            self.counts["order lines"] = phase.count

    def finish_bulk(self):
        """Drop stale caches, then let the eCRM addons compute their own stored fields on the new records."""
        env = self.env
        env.invalidate_all()
        with Phase("ecrm stored fields") as phase:
            todo = 0
            for model_name, ids in (
                ("res.partner", self.partner_ids),
                ("sale.order", self.order_ids),
            ):
                model = env[model_name]
                fields = [
                    f
                    for f in model._fields.values()
                    if f.store and f.compute and (getattr(f, "_module", None) or "").startswith("ecrm_")
                ]
                if not fields:
                    continue
                for start in range(0, len(ids), 5000):
                    records = model.browse(ids[start : start + 5000])
                    for field in fields:
                        env.add_to_compute(field, records)
                    records.flush_recordset()
                    env.invalidate_all()
                todo += len(fields)
            phase.count = todo

    def verify(self, sample=SAMPLE):
        """Recompute the stored fields of a sample of generated records with the ORM; fail on any difference."""
        env = self.env
        orders = self.plan.orders
        picked = []
        for state in ("sale", "cancel", "draft"):
            idx = orders.index[orders["state"] == state][:sample]
            picked += [self.order_ids[i] for i in idx]
        order_recs = env["sale.order"].browse(picked)
        problems = []
        with Phase("verification") as phase:
            with self.cr.savepoint() as savepoint:
                targets = [order_recs, order_recs.order_line, order_recs.partner_id]
                before = [self.snapshot(records) for records in targets]
                for records in targets:
                    for field in self.checked_fields(records):
                        env.add_to_compute(field, records)
                env.flush_all()
                env.invalidate_all()
                after = [self.snapshot(records) for records in targets]
                for records, old, new in zip(targets, before, after):
                    for key in old:
                        if not _same(old[key], new[key]):
                            problems.append(f"{records._name} {key}: stored {old[key]!r}, ORM computes {new[key]!r}")
                savepoint.rollback()
            env.invalidate_all()
            phase.count = sum(len(t) for t in targets)
        if problems:
            for problem in problems[:30]:
                say(f"MISMATCH {problem}")
            raise RuntimeError(
                f"{len(problems)} stored value(s) differ from what the ORM computes; nothing was written"
            )

    @staticmethod
    def checked_fields(records):
        """Stored, computed, read-only fields: their stored value must be what the ORM computes."""
        return [
            f
            for f in records._fields.values()
            if f.store and f.compute and f.readonly and f.name not in ("display_name",) and f.column_type
        ]

    def snapshot(self, records):
        names = [f.name for f in self.checked_fields(records)]
        values = {}
        for row in records.read(names, load=None):
            for name in names:
                values[(row["id"], name)] = row[name]
        return values

    def write_refunds(self):
        plan = self.plan
        env = self.env
        refunds = plan.refunds
        if refunds.empty:
            return
        with Phase("invoices and credit notes (ORM)") as phase:
            orders = env["sale.order"].browse([self.order_ids[o] for o in refunds["order"]])
            invoices = orders._create_invoices(grouped=True)
            by_order = {}
            for invoice in invoices:
                by_order[invoice.invoice_line_ids.sale_line_ids.order_id.id] = invoice
            for order_index, order in zip(refunds["order"], orders):
                invoice_date = plan.orders["date_order"].iloc[order_index].date()
                by_order[order.id].invoice_date = invoice_date
            invoices.action_post()
            full = refunds["kind"] == "full"
            for kind_mask, cancel in ((full, True), (~full, False)):
                subset = refunds[kind_mask]
                if subset.empty:
                    continue
                moves = env["account.move"].concat(*(by_order[self.order_ids[o]] for o in subset["order"]))
                defaults = [
                    {
                        "invoice_date": d.date(),
                        "date": d.date(),
                        "ref": f"Refund of {m.name}",
                    }
                    for d, m in zip(pd_timestamps(subset["date"]), moves)
                ]
                reversals = moves._reverse_moves(defaults, cancel=cancel)
                if not cancel:
                    # partial: credit part of the first line, drop the others
                    for reversal, row in zip(reversals, subset.itertuples()):
                        product_lines = reversal.invoice_line_ids.filtered(lambda aml: aml.display_type == "product")
                        first, others = product_lines[:1], product_lines[1:]
                        commands = [(2, line.id) for line in others]
                        commands.append(
                            (
                                1,
                                first.id,
                                {
                                    "quantity": row.qty,
                                    "price_unit": row.price_cents / 100,
                                },
                            )
                        )
                        reversal.write({"invoice_line_ids": commands})
                    reversals.action_post()
            phase.count = len(refunds)
            self.counts["invoices"] = len(invoices)
            self.counts["credit notes (full)"] = int(full.sum())
            self.counts["credit notes (partial)"] = int((~full).sum())


def pd_timestamps(values):
    import pandas as pd

    return [pd.Timestamp(v) for v in values]


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs((a or 0.0) - (b or 0.0)) < 1e-6
    return a == b


# ---------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--config",
        required=True,
        help="Odoo configuration file (addons_path, db_host, ...)",
    )
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--size", default="demo", choices=list(sampling.SIZES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--today",
        type=datetime.date.fromisoformat,
        default=datetime.date.today(),
        help="the day the generated history ends (YYYY-MM-DD; default: today)",
    )
    parser.add_argument(
        "--create",
        action="store_true",
        help="create the database with the four eCRM addons if absent",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="generate even if the database has generated data",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    options = read_config(args.config)
    odoo_src = find_odoo_src(options)
    db = args.database
    if not database_exists(options, db):
        if not args.create:
            say(f"database {db!r} does not exist (add --create to create it with the eCRM addons)")
            return 2
        create_database(odoo_src, args.config, db)

    sys.path.insert(0, str(odoo_src))
    import odoo
    from odoo import SUPERUSER_ID, api
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(["-c", args.config, "-d", db, "--log-level", "warn"], setup_logging=True)
    registry = Registry(db)
    if "sale.order" not in registry:
        say(f"database {db!r} does not have the Sales app: install the eCRM addons first (or use --create)")
        return 2

    with Phase("plan") as phase:
        plan = sampling.make_plan(args.size, args.seed, args.today)
        phase.count = len(plan.orders)
    stamp = f"{args.size}:{args.seed}"
    with registry.cursor() as cr:
        env = api.Environment(
            cr,
            SUPERUSER_ID,
            {"tracking_disable": True, "mail_notrack": True, "mail_create_nolog": True},
        )
        admin = env.ref("base.user_admin", raise_if_not_found=False) or env.user
        env = env(user=admin.id, su=True)
        previous = env["ir.config_parameter"].get_param(SEED_PARAM)
        if previous and not args.append:
            say(
                f"database {db!r} already has generated data ({SEED_PARAM} = {previous}); "
                "refusing to generate twice (use --append to add more)"
            )
            return 2
        say(f"generating size {args.size} (seed {args.seed}, today {args.today}, plan {plan.digest()}) into {db!r}")
        writer = Writer(env, plan)
        try:
            writer.run()
            env["ir.config_parameter"].set_param(SEED_PARAM, f"{previous},{stamp}" if previous else stamp)
            env.flush_all()
            # running servers keep caches (parameters, languages, products): tell them to drop them
            registry.clear_cache("stable", "templates")
        except Exception:
            registry.reset_changes()
            raise
    registry.signal_changes()
    with registry.cursor() as cr:
        cr.execute("SELECT pg_database_size(current_database())")
        size = cr.fetchone()[0]
    seconds = time.perf_counter() - started
    summary = plan.summary()
    say("summary: " + ", ".join(f"{k} {v:,}" for k, v in {**summary, **writer.counts}.items()))
    say(f"done in {seconds:.0f} s; database size {size / 2**20:,.0f} MiB; {SEED_PARAM} = {stamp}")
    del odoo
    return 0


if __name__ == "__main__":
    sys.exit(main())
