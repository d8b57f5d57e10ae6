from odoo import models

from odoo.addons.ecrm_segments.models.res_partner_consent import CONSENT_FIELDS


class EcrmCampaignParticipant(models.Model):
    """The consent gate of the send path: a step reaches a customer on a channel only with
    the customer's consent for that channel (``res.partner.ecrm_consent_<channel>``).

    Where the campaign's company requires explicit consent (the default), or the campaign
    asks for it (``require_consent``), only ``granted`` passes; otherwise everything but
    ``withdrawn`` does. A step that does not pass is logged as skipped, reason
    ``no_consent``, like the other reachability checks.
    """

    _inherit = "ecrm.campaign.participant"

    def _get_unreachable(self, step):
        unreachable = super()._get_unreachable(step)
        campaign = step.campaign_id
        explicit = campaign.require_consent or campaign.company_id.ecrm_consent_required
        fname = CONSENT_FIELDS[step.channel]
        # sudo: the gate reads every participant's consent, whoever runs the engine
        for participant in self.sudo():
            if participant.id in unreachable:
                continue
            state = participant.partner_id[fname] or "unknown"
            if state == "withdrawn" or (explicit and state != "granted"):
                unreachable[participant.id] = "no_consent"
        return unreachable
