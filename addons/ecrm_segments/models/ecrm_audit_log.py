from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

AUDIT_ACTIONS = [
    ("create", "Created"),
    ("write", "Changed"),
    ("unlink", "Deleted"),
    ("adjust", "Points adjusted"),
    ("tier", "Tier changed"),
    ("consent", "Consent changed"),
    ("export", "Data exported"),
    ("erase", "Customer erased"),
]


class EcrmAuditLog(models.Model):
    """Who changed what and when: the compliance trail of the eCRM addons.

    One row per changed field (old -> new) of an audited record, or per business event
    (points adjusted, tier changed, consent changed, personal data exported or erased).
    Rows are written by the code of the audited models (through ``ecrm.audit.mixin`` or
    :meth:`_ecrm_log`), never by users. Append-only: ``write`` and ``unlink`` are refused
    and a database trigger refuses ``UPDATE`` and ``DELETE``.

    Rows hold technical references (model, id, field) and values of configuration fields;
    they never copy a customer's name, email or phone, so an erasure leaves them intact.
    """

    _name = "ecrm.audit.log"
    _description = "eCRM Audit Log"
    _order = "date desc, id desc"
    _rec_name = "action"

    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one(
        "res.users",
        readonly=True,
        index=True,
        ondelete="restrict",
        default=lambda self: self.env.uid,
    )
    company_id = fields.Many2one(
        "res.company",
        readonly=True,
        index=True,
        ondelete="restrict",
        default=lambda self: self.env.company,
    )
    action = fields.Selection(AUDIT_ACTIONS, required=True, readonly=True, index=True)
    res_model = fields.Selection(
        selection="_selection_res_model",
        string="Model",
        required=True,
        readonly=True,
        index=True,
    )
    res_id = fields.Integer(string="Record ID", readonly=True, index=True)
    record_ref = fields.Reference(
        selection="_selection_res_model",
        string="Record",
        compute="_compute_record_ref",
    )
    field_name = fields.Char(string="Field (technical)", readonly=True)
    field_label = fields.Char(string="Field", compute="_compute_field_label")
    old_value = fields.Text(readonly=True)
    new_value = fields.Text(readonly=True)
    note = fields.Char(readonly=True)

    @api.model
    def _selection_res_model(self):
        # sudo: the labels of every model, whatever the reader may open
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    def init(self):
        # Append-only at the database level too (the same rule as the loyalty ledger): no
        # UPDATE, no DELETE, whatever code or user tries.
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION ecrm_audit_log_append_only() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION 'ecrm_audit_log is append-only: %% refused', TG_OP
                        USING ERRCODE = 'integrity_constraint_violation';
                END;
                $$ LANGUAGE plpgsql;
                DROP TRIGGER IF EXISTS ecrm_audit_log_append_only ON ecrm_audit_log;
                CREATE TRIGGER ecrm_audit_log_append_only BEFORE UPDATE OR DELETE ON ecrm_audit_log
                    FOR EACH ROW EXECUTE FUNCTION ecrm_audit_log_append_only();
                """
            )
        )

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        existing = {}
        for model, ids in self._group_ids_by_model().items():
            if model in self.env:
                # sudo: only tells whether the record still exists; opening it checks the reader's rights
                existing[model] = set(self.env[model].sudo().browse(ids).exists().ids)
        for log in self:
            if log.res_id and log.res_id in existing.get(log.res_model, ()):
                log.record_ref = f"{log.res_model},{log.res_id}"
            else:
                log.record_ref = False

    def _group_ids_by_model(self):
        by_model = {}
        for log in self:
            if log.res_model and log.res_id:
                by_model.setdefault(log.res_model, set()).add(log.res_id)
        return by_model

    @api.depends("res_model", "field_name")
    def _compute_field_label(self):
        for log in self:
            model = self.env.get(log.res_model) if log.res_model else None
            field = model._fields.get(log.field_name) if model is not None and log.field_name else None
            log.field_label = field._description_string(self.env) if field else (log.field_name or False)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get("ecrm_audit_engine"):
            raise UserError(self.env._("The audit log is written by the eCRM addons only."))
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The audit log is append-only: its entries cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The audit log is append-only: its entries cannot be deleted."))

    @api.model
    def _ecrm_log(self, vals_list):
        """Append entries to the audit log, whoever the current user is.

        :param vals_list: list of dicts with ``action``, ``res_model``, ``res_id`` and optionally
            ``field_name``, ``old_value``, ``new_value``, ``note``, ``company_id``
        :return: the created entries (as superuser)
        """
        if not vals_list:
            return self.browse()
        # sudo: every user's audited change is logged, and nobody has create access to the log
        return self.sudo().with_context(ecrm_audit_engine=True).create(vals_list)
