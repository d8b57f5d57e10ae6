from odoo import api, fields, models
from odoo.exceptions import ValidationError


class EcrmCampaignVariant(models.Model):
    """One A/B variant of a step: its own template, a share of the participants, its own mailing."""

    _name = "ecrm.campaign.variant"
    _description = "Marketing Campaign Step Variant"
    _order = "step_id, sequence, id"

    step_id = fields.Many2one("ecrm.campaign.step", required=True, ondelete="cascade", index=True)
    campaign_id = fields.Many2one(related="step_id.campaign_id", store=True, index=True)
    company_id = fields.Many2one(related="step_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, default="A")
    split_percent = fields.Integer("Split (%)", default=50, required=True)
    mail_template_id = fields.Many2one(
        "mail.template", "Email Template", domain=[("model", "=", "res.partner")], ondelete="restrict"
    )
    sms_template_id = fields.Many2one(
        "sms.template", "SMS Template", domain=[("model", "=", "res.partner")], ondelete="restrict"
    )
    mailing_id = fields.Many2one("mailing.mailing", readonly=True, copy=False, ondelete="set null")
    is_winner = fields.Boolean(compute="_compute_is_winner")

    _split_range = models.Constraint(
        "CHECK (split_percent > 0 AND split_percent <= 100)", "A variant split must be between 1 and 100%."
    )

    def _compute_is_winner(self):
        for variant in self:
            variant.is_winner = variant.step_id.winner_variant_id == variant

    @api.constrains("mail_template_id", "sms_template_id")
    def _check_template_model(self):
        for variant in self:
            models_used = {variant.mail_template_id.model, variant.sms_template_id.model} - {False}
            if models_used - {"res.partner"}:
                raise ValidationError(
                    self.env._("Variant %(name)s: the template must be for contacts.", name=variant.name)
                )
