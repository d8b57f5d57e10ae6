from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _ecrm_notify_event(self, event, **values):
        """Tell the eCRM addons that ``event`` happened to the customers in ``self``.

        The documented meeting point of the sibling addons: an addon that detects an event
        calls it, an addon that reacts to events (ecrm_marketing enrols customers in the
        campaigns triggered by it) overrides it and calls ``super()``. Neither needs the
        other installed. Events fired by the eCRM addons:

        - ``segments.segment_entered`` / ``segments.segment_exited``: ``history`` (the
          ``ecrm.segment.history`` rows);
        - ``loyalty.tier_changed``: ``tier_from``, ``tier_to``;
        - ``loyalty.points_expiring``: ``points``, ``expiry_date``;
        - ``helpdesk.low_rating``: ``ticket``, ``rating``.

        Implementations must be idempotent: a re-run of the job that fired the event may
        fire it again for the same records.

        :param str event: the event key
        :param values: event details, as listed above
        :return: None
        """
        return None
