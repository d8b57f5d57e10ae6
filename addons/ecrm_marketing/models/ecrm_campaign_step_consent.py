from odoo import models
from odoo.tools import SQL

from odoo.addons.ecrm_segments.models.res_partner_consent import CONSENT_FIELDS


class EcrmCampaignStep(models.Model):
    """The consent gate of the send path: a step reaches a customer on a channel only with
    the customer's consent for that channel (``res.partner.ecrm_consent_<channel>``).

    Where the campaign's company requires explicit consent (the default), or the campaign
    asks for it (``require_consent``), only ``granted`` passes; otherwise everything but
    ``withdrawn`` does. A step that does not pass is logged as skipped, reason
    ``no_consent``, like the other reachability checks (which come first).
    """

    _inherit = "ecrm.campaign.step"

    def _get_unreachable(self, participants):
        unreachable = super()._get_unreachable(participants)
        remaining = [pid for pid in participants.ids if pid not in unreachable]
        if not remaining:
            return unreachable
        campaign = self.campaign_id
        explicit = bool(campaign.require_consent or campaign.company_id.ecrm_consent_required)
        consent = SQL.identifier("p", CONSENT_FIELDS[self.channel])
        self.env["res.partner"].flush_model([CONSENT_FIELDS[self.channel]])
        # one query for the batch; the gate reads every participant's consent, whoever runs the engine
        self.env.cr.execute(
            SQL(
                """SELECT cp.id FROM ecrm_campaign_participant cp
                     JOIN res_partner p ON p.id = cp.partner_id
                    WHERE cp.id IN %(ids)s
                      AND (COALESCE(%(consent)s, 'unknown') = 'withdrawn'
                           OR (%(explicit)s AND COALESCE(%(consent)s, 'unknown') != 'granted'))""",
                ids=tuple(remaining),
                consent=consent,
                explicit=explicit,
            )
        )
        for (pid,) in self.env.cr.fetchall():
            unreachable[pid] = "no_consent"
        return unreachable
