from odoo import api, models


class EcrmAuditMixin(models.AbstractModel):
    """Write who changed which field of these records, from what to what, to ``ecrm.audit.log``.

    A model joins the audit trail by inheriting it, e.g. in a sibling addon::

        class EcrmHelpdeskSla(models.Model):
            _name = "ecrm.helpdesk.sla"
            _inherit = ["ecrm.helpdesk.sla", "ecrm.audit.mixin"]
            _ecrm_audit_fields = ["response_hours", "resolution_hours", ...]

    Creation, each change of an audited field and deletion are logged (one row per field,
    values as the user reads them: the label of a selection, the names of linked records).
    ``_ecrm_audit_fields`` lists the audited fields; by default every stored field that is
    neither computed nor one of the technical ones (``write_date``...).
    """

    _name = "ecrm.audit.mixin"
    _description = "eCRM Audit Trail"

    _ecrm_audit_fields = None

    @api.model
    def _ecrm_audit_get_fields(self):
        """Names of the audited fields of this model."""
        if self._ecrm_audit_fields is not None:
            return [fname for fname in self._ecrm_audit_fields if fname in self._fields]
        return [
            fname
            for fname, field in self._fields.items()
            if field.store and not field.compute and not field.automatic and fname not in models.MAGIC_COLUMNS
        ]

    def _ecrm_audit_snapshot(self, fnames):
        """{record id: {field: printable value}} of these records."""
        if not fnames:
            return {}
        # sudo: the audit must see the values whatever fields the user may read
        records = self.sudo().with_context(active_test=False)
        return {record.id: {fname: self._ecrm_audit_format(record, fname) for fname in fnames} for record in records}

    @api.model
    def _ecrm_audit_format(self, record, fname):
        """The printable value of ``record[fname]`` ('' when empty)."""
        field = record._fields[fname]
        value = record[fname]
        if field.type in ("many2one", "many2many", "one2many"):
            return ", ".join(value.mapped("display_name"))
        if field.type == "selection":
            return dict(field._description_selection(self.env)).get(value, value or "")
        if field.type == "boolean":
            return self.env._("Yes") if value else self.env._("No")
        if value is False or value is None:
            return ""
        if field.type in ("date", "datetime"):
            return field.to_string(value)
        return str(value)

    def _ecrm_audit_rows(self, action, before, after, note=None):
        """Audit rows of the fields that differ between the two snapshots."""
        rows = []
        company_field = self._fields.get("company_id")
        for record in self:
            old_values, new_values = before.get(record.id, {}), after.get(record.id, {})
            company = record.sudo().company_id if company_field and company_field.type == "many2one" else False
            for fname in sorted(set(old_values) | set(new_values)):
                old, new = old_values.get(fname, ""), new_values.get(fname, "")
                if old == new:
                    continue
                rows.append(
                    {
                        "action": action,
                        "res_model": self._name,
                        "res_id": record.id,
                        "field_name": fname,
                        "old_value": old,
                        "new_value": new,
                        "note": note,
                        "company_id": (company or self.env.company).id,
                    }
                )
        return rows

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        if not self.env.context.get("ecrm_audit_skip"):
            fnames = records._ecrm_audit_get_fields()
            self.env["ecrm.audit.log"]._ecrm_log(
                records._ecrm_audit_rows("create", {}, records._ecrm_audit_snapshot(fnames))
            )
        return records

    def write(self, vals):
        if self.env.context.get("ecrm_audit_skip"):
            return super().write(vals)
        fnames = [fname for fname in self._ecrm_audit_get_fields() if fname in vals]
        if not fnames or not self:
            return super().write(vals)
        before = self._ecrm_audit_snapshot(fnames)
        result = super().write(vals)
        after = self._ecrm_audit_snapshot(fnames)
        self.env["ecrm.audit.log"]._ecrm_log(self._ecrm_audit_rows("write", before, after))
        return result

    def unlink(self):
        if self and not self.env.context.get("ecrm_audit_skip"):
            before = self._ecrm_audit_snapshot(self._ecrm_audit_get_fields())
            rows = self._ecrm_audit_rows("unlink", before, {})
        else:
            rows = []
        result = super().unlink()
        self.env["ecrm.audit.log"]._ecrm_log(rows)
        return result

    def action_ecrm_open_audit_log(self):
        """The audit entries of these records (managers)."""
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.ecrm_audit_log_action")
        action["domain"] = [("res_model", "=", self._name), ("res_id", "in", self.ids)]
        action["context"] = {}
        return action
