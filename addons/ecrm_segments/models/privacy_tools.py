"""Helpers of the personal data export and erasure (no model here).

- :func:`export_rows` turns records into JSON-ready rows;
- :func:`build_archive` writes the zip (JSON + XLSX + a short README) of an export;
- :class:`Scrubber` finds and replaces a customer's identifiers (name, email, phone) in the
  text columns of the records an erasure de-identifies.
"""

import datetime
import io
import json
import re
import zipfile

import markupsafe
import xlsxwriter

from odoo.tools import SQL, html2plaintext, html_escape

ARCHIVE_FORMAT = "ecrm-personal-data/1"
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
TEXT_TYPES = ("char", "text", "html")


def export_value(record, fname):
    """The JSON-ready value of ``record[fname]`` (labels for selections, names for links)."""
    field = record._fields[fname]
    value = record[fname]
    if field.type == "many2one":
        return value.display_name or None
    if field.type in ("many2many", "one2many"):
        return value.mapped("display_name")
    if field.type == "selection":
        return dict(field._description_selection(record.env)).get(value, value) if value else None
    if field.type == "boolean":
        return bool(value)
    if value is False or value is None:
        return None
    if field.type == "html":
        return html2plaintext(value).strip()
    if field.type in ("date", "datetime"):
        return field.to_string(value)
    if field.type == "binary":
        return None
    return value


def export_rows(records, fnames):
    """One dict per record: ``{"id": id, field: value...}`` for the fields that exist."""
    fnames = [fname for fname in fnames if fname in records._fields]
    return [{"id": record.id, **{fname: export_value(record, fname) for fname in fnames}} for record in records]


def _cell(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _sheet_name(label, used):
    base = SHEET_NAME_FORBIDDEN.sub(" ", label or "Data")[:28].strip() or "Data"
    name, counter = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {counter}"
        counter += 1
    used.add(name.lower())
    return name


def build_xlsx(sections):
    """A workbook with one sheet per section (header = the keys of its rows)."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"in_memory": True, "strings_to_urls": False, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7"})
    used = set()
    for key, section in sections.items():
        sheet = workbook.add_worksheet(_sheet_name(section.get("label") or key, used))
        rows = section.get("rows") or []
        columns = []
        for row in rows:
            columns.extend(column for column in row if column not in columns)
        sheet.write_row(0, 0, columns or [key], bold)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, [_cell(row.get(column)) for column in columns])
        sheet.set_column(0, max(len(columns) - 1, 0), 18)
        sheet.freeze_panes(1, 0)
    workbook.close()
    return output.getvalue()


def build_archive(sections, meta, readme):
    """The zip of an export: ``personal_data.json``, ``personal_data.xlsx``, ``README.txt``.

    :param sections: ``{key: {"label": str, "rows": [dict]}}``
    :param meta: dict written at the top of the JSON (customer id, date...)
    :param readme: text of README.txt
    :return: bytes
    """
    document = {"format": ARCHIVE_FORMAT, **meta, "sections": sections}
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("personal_data.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))
        archive.writestr("personal_data.xlsx", build_xlsx(sections))
        archive.writestr("README.txt", readme)
    return output.getvalue()


def archive_file_name(partner_id, today=None):
    return f"personal-data-{partner_id}-{(today or datetime.date.today()).isoformat()}.zip"


class Scrubber:
    """Replace a customer's identifiers by a placeholder in text values and columns.

    Identifiers are matched case-insensitively, also HTML-escaped; an identifier made of
    ASCII letters and digits at both ends only matches as a whole word (``Li`` does not
    match inside ``Limited``), others (CJK names, emails, phone numbers) anywhere.
    """

    def __init__(self, identifiers, placeholder):
        variants = set()
        self.identifiers = sorted({(identifier or "").strip() for identifier in identifiers} - {""})
        for identifier in self.identifiers:
            if len(identifier) < 2:
                continue
            variants.add(identifier)
            variants.add(str(html_escape(identifier)))
        parts = []
        for variant in sorted(variants, key=len, reverse=True):
            pattern = re.escape(variant)
            if re.match(r"[A-Za-z0-9]", variant[0]) and re.match(r"[A-Za-z0-9]", variant[-1]):
                pattern = rf"(?<![A-Za-z0-9]){pattern}(?![A-Za-z0-9])"
            parts.append(pattern)
        self.regex = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        self.placeholder = placeholder

    def __bool__(self):
        return self.regex is not None

    def matches(self, value):
        return bool(self.regex and value and self.regex.search(str(value)))

    def scrub(self, value):
        """``value`` with the identifiers replaced (the same type: Markup stays Markup)."""
        if not self.matches(value):
            return value
        scrubbed = self.regex.sub(self.placeholder, str(value))
        return markupsafe.Markup(scrubbed) if isinstance(value, markupsafe.Markup) else scrubbed

    def scrub_columns(self, model, ids, fnames):
        """Replace the identifiers in the columns ``fnames`` of the rows ``ids`` of ``model``.

        Straight in SQL: no business rule, no tracking message and no recomputation is
        triggered by the de-identification itself. Translatable (jsonb) and non-stored
        fields are skipped.

        :return: number of values changed
        """
        if not self or not ids:
            return 0
        fnames = [
            fname
            for fname in fnames
            if fname in model._fields
            and model._fields[fname].store
            and model._fields[fname].type in TEXT_TYPES
            and not model._fields[fname].translate
            and model._fields[fname].column_type
        ]
        if not fnames:
            return 0
        model.flush_model(fnames)
        cr = model.env.cr
        cr.execute(
            SQL(
                "SELECT id, %s FROM %s WHERE id = ANY(%s)",
                SQL(", ").join(SQL.identifier(fname) for fname in fnames),
                SQL.identifier(model._table),
                list(ids),
            )
        )
        changes = {fname: ([], []) for fname in fnames}
        for row in cr.fetchall():
            for fname, value in zip(fnames, row[1:]):
                if self.matches(value):
                    changes[fname][0].append(row[0])
                    changes[fname][1].append(self.regex.sub(self.placeholder, value))
        count = 0
        for fname, (row_ids, values) in changes.items():
            if not row_ids:
                continue
            cr.execute(
                SQL(
                    "UPDATE %(table)s t SET %(column)s = u.value FROM unnest(%(ids)s::int[], %(values)s::text[]) "
                    "AS u(id, value) WHERE t.id = u.id",
                    table=SQL.identifier(model._table),
                    column=SQL.identifier(fname),
                    ids=row_ids,
                    values=values,
                )
            )
            count += len(row_ids)
        model.browse(ids).invalidate_recordset(fnames)
        return count


def set_columns(model, ids, values):
    """``UPDATE`` the columns of ``values`` (``{field: value}``) on rows ``ids`` in SQL, without
    business rules or tracking; used to blank personal columns during an erasure."""
    if not ids or not values:
        return
    model.flush_model(list(values))
    model.env.cr.execute(
        SQL(
            "UPDATE %s SET %s WHERE id = ANY(%s)",
            SQL.identifier(model._table),
            SQL(", ").join(SQL("%s = %s", SQL.identifier(fname), value) for fname, value in values.items()),
            list(ids),
        )
    )
    model.browse(ids).invalidate_recordset(list(values))
