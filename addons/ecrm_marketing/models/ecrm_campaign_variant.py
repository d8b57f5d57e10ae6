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
    send_count = fields.Integer("Sent", compute="_compute_statistics")
    delivered_count = fields.Integer("Delivered", compute="_compute_statistics")
    opened_count = fields.Integer("Opened", compute="_compute_statistics")
    clicked_count = fields.Integer("Clicked", compute="_compute_statistics")
    bounced_count = fields.Integer("Bounced", compute="_compute_statistics")
    failed_count = fields.Integer("Failed", compute="_compute_statistics")

    _split_range = models.Constraint(
        "CHECK (split_percent > 0 AND split_percent <= 100)", "A variant split must be between 1 and 100%."
    )

    def _compute_statistics(self):
        counters = self.env["ecrm.campaign.send"]._get_counters(self, "variant_id")
        for variant in self:
            kpis = counters.get(variant.id) or {}
            variant.send_count = kpis.get("sent", 0)
            variant.delivered_count = kpis.get("delivered", 0)
            variant.opened_count = kpis.get("opened", 0)
            variant.clicked_count = kpis.get("clicked", 0)
            variant.bounced_count = kpis.get("bounced", 0)
            variant.failed_count = kpis.get("failed", 0)

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
