# The clustering's link to customers is kept with the clustering code, apart from res_partner.py.
# pylint: disable=consider-merging-classes-inherited
from odoo import fields, models


class ResPartner(models.Model):
    """The clusters a customer was placed in, so that a filter segment can select a cluster."""

    _inherit = "res.partner"

    ecrm_cluster_member_ids = fields.One2many(
        "ecrm.analysis.cluster.member",
        "partner_id",
        string="Customer Clusters",
        groups="ecrm_segments.ecrm_group_user",
    )
