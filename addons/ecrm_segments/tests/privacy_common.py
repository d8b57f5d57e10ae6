"""Shared helpers of the privacy tests (also used by the sibling addons' tests)."""

import base64
import io
import json
import zipfile
from collections import defaultdict

from odoo.tools import SQL

TEXT_TYPES = ("text", "character varying", "character", "jsonb")


def _like_pattern(value):
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_in_database(cr, identifiers):
    """Every (table, column, rows) of the database whose text, varchar or jsonb values
    contain one of ``identifiers`` (case-insensitive), in every table of the schema."""
    patterns = [_like_pattern(identifier) for identifier in identifiers if identifier]
    cr.execute(
        SQL(
            """SELECT c.table_name, c.column_name
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                  AND c.data_type IN %s
             ORDER BY c.table_name, c.column_name""",
            TEXT_TYPES,
        )
    )
    columns = defaultdict(list)
    for table, column in cr.fetchall():
        columns[table].append(column)
    hits = []
    for table, names in columns.items():
        tests = [SQL("%s::text ILIKE ANY(%s)", SQL.identifier(name), patterns) for name in names]
        cr.execute(
            SQL(
                "SELECT %s FROM %s WHERE %s",
                SQL(", ").join(SQL("COUNT(*) FILTER (WHERE %s)", test) for test in tests),
                SQL.identifier(table),
                SQL(" OR ").join(tests),
            )
        )
        for name, count in zip(names, cr.fetchone()):
            if count:
                hits.append((table, name, count))
    return hits


def read_archive(content):
    """(json document, xlsx bytes, readme text) of an export archive (bytes or base64 str)."""
    if isinstance(content, str):
        content = base64.b64decode(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        assert names == {"personal_data.json", "personal_data.xlsx", "README.txt"}, names
        document = json.loads(archive.read("personal_data.json"))
        return document, archive.read("personal_data.xlsx"), archive.read("README.txt").decode()
