from odoo import fields, models


class EcrmTagRuleLink(models.Model):
    """A tag a rule put on a customer: what a rule may remove again."""

    _name = "ecrm.tag.rule.link"
    _description = "Tag Assigned by a Rule"
    _log_access = False

    rule_id = fields.Many2one("ecrm.tag.rule", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade", index=True)
    tag_id = fields.Many2one(related="rule_id.tag_id")

    _rule_partner_unique = models.Constraint("UNIQUE(rule_id, partner_id)", "A rule tags a customer once.")
