from odoo import fields, models


class EcrmAnalysisClusterMember(models.Model):
    """A customer of a clustering run: the cluster and the features it was placed on.

    Written in one statement by ``ecrm.analysis.cluster.run``; never edited.
    """

    _name = "ecrm.analysis.cluster.member"
    _description = "Customer Cluster Member"
    _order = "cluster_id, monetary desc, id"
    _rec_name = "partner_id"
    _log_access = False

    run_id = fields.Many2one("ecrm.analysis.cluster.run", required=True, ondelete="cascade", index=True, readonly=True)
    cluster_id = fields.Many2one("ecrm.analysis.cluster", required=True, ondelete="cascade", index=True, readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, ondelete="cascade", index=True,
                                 readonly=True)  # fmt: skip
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    recency = fields.Float(string="Days Since Last Order", readonly=True, digits=(16, 0), aggregator="avg")
    frequency = fields.Float(string="Orders", readonly=True, digits=(16, 0), aggregator="avg")
    monetary = fields.Monetary(string="Net Spend", readonly=True, aggregator="avg")
    basket = fields.Monetary(string="Average Basket", readonly=True, aggregator="avg")
    discount_share = fields.Float(string="Discounted Orders", readonly=True, digits=(16, 4), aggregator="avg")
