import ast
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


class EcrmTagRule(models.Model):
    """Put a contact tag on the customers who match a filter and/or order conditions.

    All conditions set on a rule must hold. Orders that count: confirmed sales orders of
    the rule's company (all companies when empty), by the customer's commercial entity.
    A customer who stops matching loses the tag, unless the tag was already on the
    customer before a rule put it there: tags set by hand are never removed by a rule.
    The tags a rule assigned are remembered in ``ecrm.tag.rule.link``.
    """

    _name = "ecrm.tag.rule"
    _description = "Customer Tag Rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    tag_id = fields.Many2one("res.partner.category", required=True, ondelete="cascade")
    partner_domain = fields.Char(string="Customer Filter", default="[]")
    product_ids = fields.Many2many("product.product", string="Bought Products")
    categ_ids = fields.Many2many("product.category", string="Bought Categories")
    bought_days = fields.Integer(
        string="In the Last (days)",
        default=90,
        help="Period of the product, category and new-product conditions.",
    )
    min_orders = fields.Integer(string="At Least (orders)", help="0: no condition.")
    min_spend = fields.Float(
        string="Spend at Least",
        help="Untaxed, company currency, all time. 0: no condition.",
    )
    min_discount_share = fields.Float(
        string="Discounted Orders at Least (%)",
        help="Share of the customer's orders with a discount or a reward line. 0: no condition.",
    )
    new_product_days = fields.Integer(
        string="Bought Products Launched Within (days)",
        help="Bought, in the period, a product created at most this many days before the order. 0: no condition.",
    )
    link_ids = fields.One2many("ecrm.tag.rule.link", "rule_id", string="Assigned")
    customer_count = fields.Integer(compute="_compute_customer_count", string="Customers Tagged")
    last_run_date = fields.Datetime(readonly=True)

    def _compute_customer_count(self):
        counts = dict(
            self.env["ecrm.tag.rule.link"]._read_group([("rule_id", "in", self.ids)], ["rule_id"], ["__count"])
        )
        for rule in self:
            rule.customer_count = counts.get(rule, 0)

    @api.constrains(
        "partner_domain",
        "product_ids",
        "categ_ids",
        "min_orders",
        "min_spend",
        "min_discount_share",
        "new_product_days",
        "bought_days",
    )
    def _check_rule(self):
        for rule in self:
            if (
                min(
                    rule.min_orders,
                    rule.min_spend,
                    rule.min_discount_share,
                    rule.new_product_days,
                )
                < 0
            ):
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s: the conditions cannot be negative.",
                        rule=rule.name,
                    )
                )
            if rule.min_discount_share > 100:
                raise ValidationError(self.env._("Rule %(rule)s: a share cannot exceed 100%%.", rule=rule.name))
            if (rule.product_ids or rule.categ_ids or rule.new_product_days) and rule.bought_days <= 0:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s: the period of the purchase conditions must be positive.",
                        rule=rule.name,
                    )
                )
            domain = rule._parse_domain()
            has_order_condition = (
                rule.product_ids
                or rule.categ_ids
                or rule.min_orders
                or rule.min_spend
                or rule.min_discount_share
                or rule.new_product_days
            )
            if not domain and not has_order_condition:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s has no condition: it would tag every contact. Set a filter or an order condition.",
                        rule=rule.name,
                    )
                )
            rule._matching_sql()

    def _parse_domain(self):
        self.ensure_one()
        try:
            domain = ast.literal_eval(self.partner_domain or "[]")
            if not isinstance(domain, (list, tuple)):
                raise TypeError(self.partner_domain)
            if domain:
                query = self.env["res.partner"].sudo().with_context(active_test=False)._search(domain)
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(SQL("SELECT EXISTS%s", query.subselect()))
        except Exception as error:
            raise ValidationError(
                self.env._(
                    "Rule %(rule)s: the customer filter %(domain)s is not valid (%(error)s).",
                    rule=self.name,
                    domain=self.partner_domain,
                    error=error,
                )
            ) from error
        return list(domain)

    def _matching_sql(self):
        """SQL selecting the ids of the partners this rule matches now."""
        self.ensure_one()
        conditions = []
        domain = self._parse_domain()
        if domain:
            # sudo: which customers match must not depend on who runs the rule
            query = self.env["res.partner"].sudo().with_context(active_test=False)._search(domain)
            conditions.append(SQL("p.id IN %s", query.subselect()))
        company_condition = SQL("so.company_id = %s", self.company_id.id) if self.company_id else SQL("TRUE")
        since = fields.Datetime.now() - timedelta(days=self.bought_days or 0)
        if self.product_ids or self.categ_ids:
            product_condition = []
            if self.product_ids:
                product_condition.append(SQL("sol.product_id IN %s", tuple(self.product_ids.ids)))
            if self.categ_ids:
                categories = self.env["product.category"].sudo().search([("id", "child_of", self.categ_ids.ids)])
                product_condition.append(SQL("pt.categ_id IN %s", tuple(categories.ids)))
            conditions.append(
                SQL(
                    """p.id IN (SELECT cp.commercial_partner_id
                                  FROM sale_order_line sol
                                  JOIN sale_order so ON so.id = sol.order_id
                                  JOIN res_partner cp ON cp.id = so.partner_id
                                  JOIN product_product pp ON pp.id = sol.product_id
                                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                                 WHERE so.state = 'sale' AND %s AND so.date_order >= %s AND (%s))""",
                    company_condition,
                    since,
                    SQL(" OR ").join(product_condition),
                )
            )
        if self.new_product_days:
            conditions.append(
                SQL(
                    """p.id IN (SELECT cp.commercial_partner_id
                                  FROM sale_order_line sol
                                  JOIN sale_order so ON so.id = sol.order_id
                                  JOIN res_partner cp ON cp.id = so.partner_id
                                  JOIN product_product pp ON pp.id = sol.product_id
                                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                                 WHERE so.state = 'sale' AND %s AND so.date_order >= %s
                                   AND pt.create_date >= so.date_order - make_interval(days => %s))""",
                    company_condition,
                    since,
                    self.new_product_days,
                )
            )
        if self.min_orders or self.min_spend or self.min_discount_share:
            conditions.append(
                SQL(
                    """p.id IN (SELECT cp.commercial_partner_id
                                  FROM sale_order so
                                  JOIN res_partner cp ON cp.id = so.partner_id
                             LEFT JOIN LATERAL (
                                       SELECT TRUE AS discounted FROM sale_order_line sol
                                        WHERE sol.order_id = so.id AND (sol.discount > 0 OR sol.price_unit < 0)
                                        LIMIT 1) d ON TRUE
                                 WHERE so.state = 'sale' AND %s
                              GROUP BY cp.commercial_partner_id
                                HAVING COUNT(*) >= %s
                                   AND SUM(so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0)) >= %s
                                   AND 100.0 * COUNT(d.discounted) / COUNT(*) >= %s)""",
                    company_condition,
                    self.min_orders,
                    self.min_spend,
                    self.min_discount_share,
                )
            )
        return SQL("SELECT p.id FROM res_partner p WHERE %s", SQL(" AND ").join(conditions))

    def action_run(self):
        """Apply these rules now; returns a notification with the number of tags added and removed."""
        added, removed = self._apply()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Tag rules applied"),
                "message": self.env._(
                    "%(added)s tags added, %(removed)s removed.",
                    added=added,
                    removed=removed,
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def run(self):
        """RPC: apply these rules now. :return: dict with ``added`` and ``removed`` counts."""
        added, removed = self._apply()
        return {"added": added, "removed": removed}

    def _apply(self):
        """Add the tag to the partners that match, remove it from those a rule tagged that no longer do.

        :return: (tags added, tags removed)
        """
        self.check_access("write")
        self.env.flush_all()
        relation = self.env["res.partner"]._fields["category_id"].relation
        rel = SQL.identifier(relation)
        total_added = total_removed = 0
        for rule in self:
            self.env.cr.execute(
                SQL(
                    """
                    WITH matching AS (%(matching)s),
                    added AS (
                        INSERT INTO %(rel)s (category_id, partner_id)
                        SELECT %(tag)s, m.id FROM matching m
                        ON CONFLICT DO NOTHING
                        RETURNING partner_id
                    ),
                    owned AS (
                        -- the tag is ours when this run added it or another rule of the same tag did
                        SELECT partner_id FROM added
                         UNION
                        SELECT l.partner_id FROM ecrm_tag_rule_link l JOIN ecrm_tag_rule r ON r.id = l.rule_id
                         WHERE r.tag_id = %(tag)s AND l.partner_id IN (SELECT id FROM matching)
                    ),
                    linked AS (
                        INSERT INTO ecrm_tag_rule_link (rule_id, partner_id)
                        SELECT %(rule)s, partner_id FROM owned
                        ON CONFLICT DO NOTHING
                        RETURNING 1
                    ),
                    unlinked AS (
                        DELETE FROM ecrm_tag_rule_link l
                         WHERE l.rule_id = %(rule)s AND l.partner_id NOT IN (SELECT id FROM matching)
                     RETURNING l.partner_id
                    ),
                    untagged AS (
                        DELETE FROM %(rel)s t
                         USING unlinked u
                         WHERE t.category_id = %(tag)s AND t.partner_id = u.partner_id
                           AND NOT EXISTS (
                               SELECT 1 FROM ecrm_tag_rule_link l JOIN ecrm_tag_rule r ON r.id = l.rule_id
                                WHERE r.tag_id = %(tag)s AND l.partner_id = u.partner_id AND l.rule_id != %(rule)s)
                     RETURNING 1
                    )
                    SELECT (SELECT COUNT(*) FROM added), (SELECT COUNT(*) FROM untagged), (SELECT COUNT(*) FROM linked)
                    """,
                    matching=rule._matching_sql(),
                    rel=rel,
                    tag=rule.tag_id.id,
                    rule=rule.id,
                )
            )
            added, removed, _linked = self.env.cr.fetchone()
            total_added += added
            total_removed += removed
        self.write({"last_run_date": fields.Datetime.now()})
        self.env["res.partner"].invalidate_model(["category_id"])
        self.env["res.partner.category"].invalidate_model(["partner_ids"])
        self.env["ecrm.tag.rule.link"].invalidate_model()
        return total_added, total_removed

    @api.model
    def _cron_apply(self):
        """Scheduled run of every active rule, one committed batch per rule."""
        rules = self.sudo().search([("active", "=", True)])
        self.env["ir.cron"]._commit_progress(remaining=len(rules))
        for rule in rules:
            rule._apply()
            if not self.env["ir.cron"]._commit_progress(1):
                break

    def unlink(self):
        """Deleting a rule removes the tags it put (and no other rule keeps), like a rule that stops matching."""
        relation = SQL.identifier(self.env["res.partner"]._fields["category_id"].relation)
        self.env.flush_all()
        for rule in self:
            self.env.cr.execute(
                SQL(
                    """
                    DELETE FROM %(rel)s t USING ecrm_tag_rule_link l
                     WHERE l.rule_id = %(rule)s AND t.partner_id = l.partner_id AND t.category_id = %(tag)s
                       AND NOT EXISTS (
                           SELECT 1 FROM ecrm_tag_rule_link o JOIN ecrm_tag_rule r ON r.id = o.rule_id
                            WHERE r.tag_id = %(tag)s AND o.partner_id = l.partner_id AND o.rule_id != %(rule)s)
                    """,
                    rel=relation,
                    rule=rule.id,
                    tag=rule.tag_id.id,
                )
            )
        self.env["res.partner"].invalidate_model(["category_id"])
        return super().unlink()
