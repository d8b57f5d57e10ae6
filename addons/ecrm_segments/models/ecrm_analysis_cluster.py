from odoo import api, fields, models

# a centre at least this many standard deviations from the population mean is worth a word
NOTABLE_Z = 0.5
WORDS_PER_CLUSTER = 3


class EcrmAnalysisCluster(models.Model):
    """One cluster of a clustering run: its size, its centre and a description in words.

    The centre is kept twice: in the features' units (mean of the members: days, orders,
    money, shares) and in standard deviations from the whole population (``z_*``), from
    which the description is written in the reader's language.
    """

    _name = "ecrm.analysis.cluster"
    _description = "Customer Cluster"
    _order = "run_id desc, number"

    run_id = fields.Many2one("ecrm.analysis.cluster.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    number = fields.Integer(readonly=True, help="Clusters are numbered by size, the largest first.")
    name = fields.Char(compute="_compute_description")
    description = fields.Char(compute="_compute_description")
    size = fields.Integer(string="Customers", readonly=True, aggregator="sum")
    share = fields.Float(string="Share of Customers", readonly=True, digits=(16, 4))
    recency = fields.Float(string="Days Since Last Order", readonly=True, digits=(16, 1), aggregator="avg")
    frequency = fields.Float(string="Orders", readonly=True, digits=(16, 2), aggregator="avg")
    monetary = fields.Monetary(string="Net Spend", readonly=True, aggregator="avg")
    basket = fields.Monetary(string="Average Basket", readonly=True, aggregator="avg")
    discount_share = fields.Float(string="Discounted Orders", readonly=True, digits=(16, 4), aggregator="avg")
    categ_share_1 = fields.Float(string="Spend in Top Category 1", readonly=True, digits=(16, 4))
    categ_share_2 = fields.Float(string="Spend in Top Category 2", readonly=True, digits=(16, 4))
    categ_share_3 = fields.Float(string="Spend in Top Category 3", readonly=True, digits=(16, 4))
    z_recency = fields.Float(string="Recency (z-score)", readonly=True, digits=(16, 2))
    z_frequency = fields.Float(string="Orders (z-score)", readonly=True, digits=(16, 2))
    z_monetary = fields.Float(string="Net Spend (z-score)", readonly=True, digits=(16, 2))
    z_basket = fields.Float(string="Average Basket (z-score)", readonly=True, digits=(16, 2))
    z_discount_share = fields.Float(string="Discounted Orders (z-score)", readonly=True, digits=(16, 2))
    z_categ_1 = fields.Float(string="Top Category 1 (z-score)", readonly=True, digits=(16, 2))
    z_categ_2 = fields.Float(string="Top Category 2 (z-score)", readonly=True, digits=(16, 2))
    z_categ_3 = fields.Float(string="Top Category 3 (z-score)", readonly=True, digits=(16, 2))
    segment_id = fields.Many2one("ecrm.segment", string="Saved as Segment", readonly=True, ondelete="set null")

    @api.depends_context("lang")
    @api.depends("number", "z_recency", "z_frequency", "z_monetary", "z_basket", "z_discount_share",
                 "z_categ_1", "z_categ_2", "z_categ_3", "run_id.categ_1_id", "run_id.categ_2_id", "run_id.categ_3_id")  # fmt: skip
    def _compute_description(self):
        for cluster in self:
            cluster.description = cluster._describe()
            cluster.name = self.env._("Cluster %(number)s: %(description)s", number=cluster.number,
                                      description=cluster.description)  # fmt: skip

    def _describe(self):
        """Words for the features of the centre furthest from the average, strongest first."""
        self.ensure_one()
        words = {
            "recency": (self.env._("lapsed"), self.env._("recent buyers")),
            "frequency": (self.env._("frequent"), self.env._("one-off buyers")),
            "monetary": (self.env._("high spend"), self.env._("low spend")),
            "basket": (self.env._("large baskets"), self.env._("small baskets")),
            "discount_share": (self.env._("promotion-driven"), self.env._("full-price buyers")),
        }
        notes = []
        for name, (high, low) in words.items():
            z = self[f"z_{name}"]
            if abs(z) >= NOTABLE_Z:
                notes.append((abs(z), high if z > 0 else low))
        for index in (1, 2, 3):
            categ = self.run_id[f"categ_{index}_id"]
            z = self[f"z_categ_{index}"]
            if categ and z >= NOTABLE_Z:
                notes.append((z, self.env._("mostly %(category)s", category=categ.name)))
        if not notes:
            return self.env._("close to the average customer")
        notes.sort(key=lambda note: -note[0])
        return self.env._(", ").join(text for _z, text in notes[:WORDS_PER_CLUSTER])

    def action_open_members(self):
        """The customers of this cluster with their features."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("ecrm_segments.ecrm_analysis_cluster_member_action")
        action["domain"] = [("cluster_id", "=", self.id)]
        action["name"] = self.name
        return action

    def action_save_segment(self):
        """Create a customer-filter segment holding this cluster's customers; open it.

        A filter segment (``rule_type = domain``): the recompute puts these customers in it
        instead of their RFM segment, while their RFM segment (``rfm_segment_id``) stays
        computed, so every customer keeps exactly one RFM segment. Saving twice opens the
        segment saved first.
        """
        self.ensure_one()
        if not self.segment_id:
            segment = self.env["ecrm.segment"].create(
                {
                    "name": f"{self.run_id.name} - {self.name}",
                    "code": f"cluster_{self.run_id.id}_{self.number}",
                    "rule_type": "domain",
                    "domain": repr([("ecrm_cluster_member_ids.cluster_id", "=", self.id)]),
                    "company_id": self.company_id.id,
                    "description": self.description,
                    "sequence": 50,
                }
            )
            self.segment_id = segment
        return {
            "type": "ir.actions.act_window",
            "res_model": "ecrm.segment",
            "res_id": self.segment_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
