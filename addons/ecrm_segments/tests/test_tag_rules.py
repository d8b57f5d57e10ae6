from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import EcrmCase, EcrmOrdersMixin


@tagged("post_install", "-at_install", "ecrm")
class TestTagRules(EcrmCase, EcrmOrdersMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        cls.tag = cls.env["res.partner.category"].create({"name": "Promotion-sensitive"})
        cls.Rule = cls.env["ecrm.tag.rule"]
        cls.ann, cls.bob, cls.cat = cls.env["res.partner"].create([{"name": "Ann"}, {"name": "Bob"}, {"name": "Cat"}])

    def test_discount_share_rule_adds_and_removes(self):
        self.make_order(self.ann, 100, days_ago=5, discount=10)
        self.make_order(self.ann, 100, days_ago=4, discount=20)
        self.make_order(self.bob, 100, days_ago=5, discount=10)
        bob_full = self.make_order(self.bob, 100, days_ago=4)
        rule = self.Rule.create({"name": "Promo", "tag_id": self.tag.id, "min_discount_share": 75})
        self.assertEqual(rule.run(), {"added": 1, "removed": 0})
        self.assertIn(self.tag, self.ann.category_id)
        self.assertNotIn(self.tag, self.bob.category_id)
        self.assertEqual(rule.run(), {"added": 0, "removed": 0}, "a second run changes nothing")
        # Ann buys twice at full price: 50% discounted, below 75%
        self.make_order(self.ann, 100, days_ago=1)
        self.make_order(self.ann, 100, days_ago=1)
        self.assertEqual(rule.run(), {"added": 0, "removed": 1})
        self.assertNotIn(self.tag, self.ann.category_id)
        bob_full._action_cancel()
        rule.run()
        self.assertIn(self.tag, self.bob.category_id)

    def test_manual_tags_are_never_removed(self):
        self.cat.category_id = [(4, self.tag.id)]
        self.make_order(self.cat, 500, days_ago=5)
        rule = self.Rule.create({"name": "Big", "tag_id": self.tag.id, "min_spend": 400})
        rule.run()
        self.assertFalse(rule.link_ids, "the tag was there before: the rule does not own it")
        rule.min_spend = 1000
        rule.run()
        self.assertIn(self.tag, self.cat.category_id)
        rule.unlink()
        self.assertIn(self.tag, self.cat.category_id)

    def test_product_category_orders_and_domain(self):
        category = self.env["product.category"].create({"name": "Tea"})
        green = self.env["product.category"].create({"name": "Green", "parent_id": category.id})
        tea = self.env["product.product"].create({"name": "Longjing", "categ_id": green.id, "list_price": 30})
        # the shop's usual product was launched long ago
        self.env.cr.execute(
            "UPDATE product_template SET create_date = now() - interval '400 days' WHERE id = %s",
            [self.ecrm_product.product_tmpl_id.id],
        )
        order = self.make_order(self.ann, 30, days_ago=10, confirm=False)
        order.order_line.product_id = tea
        order.action_confirm()
        order.date_order = order.date_order - timedelta(days=10)
        self.make_order(self.bob, 30, days_ago=10)
        self.make_order(self.bob, 30, days_ago=9)
        tea_tag, loyal_tag, new_tag = self.env["res.partner.category"].create(
            [{"name": "Tea lover"}, {"name": "Twice"}, {"name": "Early adopter"}]
        )
        tea_rule = self.Rule.create(
            {
                "name": "Tea",
                "tag_id": tea_tag.id,
                "categ_ids": [(6, 0, category.ids)],
                "bought_days": 30,
            }
        )
        twice = self.Rule.create(
            {
                "name": "Twice",
                "tag_id": loyal_tag.id,
                "min_orders": 2,
                "partner_domain": "[('name', 'in', ['Bob', 'Cat'])]",
            }
        )
        early = self.Rule.create(
            {
                "name": "Early",
                "tag_id": new_tag.id,
                "new_product_days": 30,
                "bought_days": 30,
            }
        )
        (tea_rule | twice | early)._apply()
        self.assertEqual(tea_tag.partner_ids, self.ann)
        self.assertEqual(loyal_tag.partner_ids, self.bob)
        self.assertEqual(
            new_tag.partner_ids,
            self.ann,
            "Longjing was launched just now: only Ann bought it",
        )
        tea_rule.bought_days = 5
        tea_rule._apply()
        self.assertFalse(tea_tag.partner_ids)

    def test_two_rules_same_tag(self):
        self.make_order(self.ann, 500, days_ago=5)
        self.make_order(self.ann, 500, days_ago=4)
        by_spend = self.Rule.create({"name": "Spend", "tag_id": self.tag.id, "min_spend": 900})
        by_orders = self.Rule.create({"name": "Orders", "tag_id": self.tag.id, "min_orders": 2})
        (by_spend | by_orders)._apply()
        by_spend.min_spend = 5000
        (by_spend | by_orders)._apply()
        self.assertIn(self.tag, self.ann.category_id, "still tagged by the other rule")
        by_orders.min_orders = 3
        (by_spend | by_orders)._apply()
        self.assertNotIn(self.tag, self.ann.category_id)

    def test_cron_runs_rules(self):
        self.make_order(self.ann, 500, days_ago=5)
        self.Rule.create({"name": "Spend", "tag_id": self.tag.id, "min_spend": 100})
        with patch.object(type(self.env["ir.cron"]), "_commit_progress", return_value=1.0):
            self.Rule._cron_apply()
        self.assertIn(self.tag, self.ann.category_id)

    def test_bad_rules_refused(self):
        with (
            self.assertRaisesRegex(ValidationError, "no condition"),
            self.env.cr.savepoint(),
        ):
            self.Rule.create({"name": "All", "tag_id": self.tag.id})
        with (
            self.assertRaisesRegex(ValidationError, "not valid"),
            self.env.cr.savepoint(),
        ):
            self.Rule.create(
                {
                    "name": "Bad",
                    "tag_id": self.tag.id,
                    "partner_domain": "[('nope', '=', 1)]",
                }
            )
        with (
            self.assertRaisesRegex(ValidationError, "cannot exceed 100"),
            self.env.cr.savepoint(),
        ):
            self.Rule.create({"name": "Bad", "tag_id": self.tag.id, "min_discount_share": 150})

    def test_access(self):
        with self.assertRaises(AccessError):
            self.Rule.with_user(self.ecrm_user).create({"name": "X", "tag_id": self.tag.id, "min_orders": 1})
        rule = self.Rule.with_user(self.ecrm_manager).create({"name": "X", "tag_id": self.tag.id, "min_orders": 1})
        with self.assertRaises(AccessError):
            rule.with_user(self.ecrm_user).run()
