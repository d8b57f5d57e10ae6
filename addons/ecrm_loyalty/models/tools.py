from odoo.tools import SQL


def bulk_add(cr, table, column, deltas):
    """Add ``deltas[id]`` to ``column`` of the rows of ``table`` in one statement."""
    deltas = {id_: delta for id_, delta in deltas.items() if delta}
    if not deltas:
        return
    values = SQL(", ").join(SQL("(%s, %s)", int(id_), float(delta)) for id_, delta in deltas.items())
    cr.execute(
        SQL(
            "UPDATE %(table)s AS t SET %(col)s = coalesce(t.%(col)s, 0) + v.delta::float8"
            " FROM (VALUES %(values)s) AS v(id, delta) WHERE t.id = v.id::int",
            table=SQL.identifier(table),
            col=SQL.identifier(column),
            values=values,
        )
    )
