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


def insert_rows(model, vals_list):
    """Insert ``vals_list`` into ``model``'s table in one statement (no ORM create: no defaults,
    no computed fields, no constraints in Python; the database constraints still apply).
    Used by the loyalty engine for its own bookkeeping rows, where the ORM is the bottleneck.

    :return: the new records
    """
    if not vals_list:
        return model.browse()
    env = model.env
    columns = sorted(set().union(*vals_list))
    now = env.cr.now()
    audit = {"create_uid": env.uid, "write_uid": env.uid, "create_date": now, "write_date": now}
    booleans = {name for name in columns if model._fields[name].type == "boolean"}

    def value(vals, name):
        val = vals.get(name)
        if val is False and name not in booleans:
            return None
        return val

    rows = SQL(", ").join(
        SQL(
            "(%s)",
            SQL(", ").join([SQL("%s", value(vals, name)) for name in columns] + [SQL("%s", v) for v in audit.values()]),
        )
        for vals in vals_list
    )
    env.cr.execute(
        SQL(
            "INSERT INTO %s (%s) VALUES %s RETURNING id",
            SQL.identifier(model._table),
            SQL(", ").join(SQL.identifier(name) for name in [*columns, *audit]),
            rows,
        )
    )
    records = model.browse([row[0] for row in env.cr.fetchall()])
    # the ORM did not see the rows: forget the one2many lists that contain this model
    for model_name, inverse_fields in inverse_one2many(env, model._name).items():
        env[model_name].invalidate_model(inverse_fields)
    return records


_INVERSES = {}


def inverse_one2many(env, model_name):
    """{model: [one2many fields listing ``model_name``]}, cached per registry."""
    key = (id(env.registry), model_name)
    if key in _INVERSES:
        return _INVERSES[key]
    result = {}
    for other in env.registry.values():
        names = [
            name
            for name, field in other._fields.items()
            if field.type == "one2many" and field.comodel_name == model_name and field.store is not None
        ]
        if names:
            result[other._name] = names
    _INVERSES[key] = result
    return result
