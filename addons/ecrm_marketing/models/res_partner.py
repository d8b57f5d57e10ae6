from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    # also defined by ecrm_loyalty (birthday bonus): the same column, whichever addon is installed
    ecrm_birthday = fields.Date("Birthday")
    ecrm_marketing_consent = fields.Boolean(
        "Marketing Consent",
        help="The customer agreed to receive marketing messages (required by campaigns that ask for consent).",
    )
    ecrm_participant_ids = fields.One2many("ecrm.campaign.participant", "partner_id", string="Campaigns")

    def _ecrm_notify_event(self, event, **values):
        """Enrol these customers in the running campaigns triggered by ``event`` (see ecrm_segments)."""
        res = super()._ecrm_notify_event(event, **values)
        # sudo: the event comes from any user's business flow (a rating, a points expiry job);
        # enrolment is the campaign engine's job, not limited by that user's marketing rights
        self.env["ecrm.campaign"].sudo()._enrol_from_event(event, self.sudo(), **values)
        return res
