from collections import defaultdict

from odoo import fields, models
from odoo.fields import Command


class ResPartner(models.Model):
    _inherit = "res.partner"

    ecrm_birthday = fields.Date("Birthday")
    ecrm_tier_id = fields.Many2one(
        "ecrm.loyalty.tier",
        string="Loyalty Tier",
        readonly=True,
        index="btree_not_null",
    )
    ecrm_tier_since = fields.Date("Tier Since", readonly=True)
    ecrm_tier_grace_until = fields.Date(
        "Tier Kept Until",
        readonly=True,
        help="Below the tier at the last review: downgraded after this date.",
    )
    ecrm_tier_history_ids = fields.One2many(
        "ecrm.loyalty.tier.history", "partner_id", string="Tier History", readonly=True
    )
    ecrm_loyalty_card_ids = fields.One2many("loyalty.card", "partner_id", string="Loyalty Cards", readonly=True)
    ecrm_points_balance = fields.Float(
        "Loyalty Points",
        compute="_compute_ecrm_points_balance",
        groups="ecrm_loyalty.ecrm_loyalty_group_user",
        help="Points on the customer's cards of active loyalty programs (campaign templates read it too).",
    )

    def _compute_ecrm_points_balance(self):
        """Sum the loyalty-card points of the whole recordset in one grouped query."""
        groups = self.env["loyalty.card"]._read_group(
            [
                ("partner_id", "in", self.ids),
                ("program_id.program_type", "=", "loyalty"),
                ("program_id.active", "=", True),
            ],
            ["partner_id"],
            ["points:sum"],
        )
        points = {partner.id: total for partner, total in groups}
        for partner in self:
            partner.ecrm_points_balance = points.get(partner.id, 0.0)

    def _ecrm_tier_metric(self):
        """Qualifying amount of each (commercial) partner over the company's rolling window."""
        company = self.env.company
        since = fields.Date.add(self.env.company._ecrm_loyalty_today(), days=-company.ecrm_tier_window_days)
        metric = defaultdict(float)
        if company.ecrm_tier_basis == "points":
            groups = (
                self.env["ecrm.loyalty.ledger"]
                .sudo()  # sudo: the tier depends on all of the customer's points, not on what the user sees
                ._read_group(
                    [
                        ("partner_id", "child_of", self.ids),
                        ("kind", "=", "earn"),
                        ("date", ">=", since),
                    ],
                    ["partner_id"],
                    ["points:sum", "pending_points:sum"],
                )
            )
            for partner, points, pending in groups:
                metric[partner.commercial_partner_id] += points + pending
        else:
            groups = (
                self.env["sale.order"]
                .sudo()  # sudo: the tier depends on all of the customer's orders, not on what the user sees
                ._read_group(
                    [
                        ("partner_id", "child_of", self.ids),
                        ("state", "=", "sale"),
                        ("date_order", ">=", since),
                        ("company_id", "=", company.id),
                    ],
                    ["partner_id"],
                    ["amount_untaxed:sum"],
                )
            )
            for partner, amount in groups:
                metric[partner.commercial_partner_id] += amount
        return metric

    def _ecrm_tier_evaluate(self, upgrade_only=False):
        """Move the (commercial) partners to the tier their qualifying amount gives: upgrades at
        once; downgrades only at the periodic review (``upgrade_only`` False) after the grace period.

        :return: dict ``{partner: (old_tier, new_tier)}`` of the changes made
        """
        partners = self.commercial_partner_id
        if not partners:
            return {}
        company = self.env.company
        tiers = self.env["ecrm.loyalty.tier"].search(
            [("company_id", "in", [company.id, False])], order="threshold desc, id"
        )
        metric = partners._ecrm_tier_metric()
        today = self.env.company._ecrm_loyalty_today()
        changes, grace_start, grace_clear = {}, self.browse(), self.browse()
        for partner in partners:
            amount = metric.get(partner, 0.0)
            target = next((tier for tier in tiers if amount >= tier.threshold), tiers.browse())
            current = partner.ecrm_tier_id
            rank_target = target.threshold if target else -1
            rank_current = current.threshold if current else -1
            if target == current or (rank_target == rank_current):
                if partner.ecrm_tier_grace_until:
                    grace_clear |= partner
            elif rank_target > rank_current:
                changes[partner] = (current, target, amount)
            elif not upgrade_only:
                if company.ecrm_tier_grace_days <= 0 or (
                    partner.ecrm_tier_grace_until and partner.ecrm_tier_grace_until <= today
                ):
                    changes[partner] = (current, target, amount)
                elif not partner.ecrm_tier_grace_until:
                    grace_start |= partner
        if grace_start:
            grace_start.write({"ecrm_tier_grace_until": fields.Date.add(today, days=company.ecrm_tier_grace_days)})
        if grace_clear:
            grace_clear.write({"ecrm_tier_grace_until": False})
        if changes:
            self._ecrm_tier_apply(changes)
        return {partner: (old, new) for partner, (old, new, _amount) in changes.items()}

    def _ecrm_tier_apply(self, changes):
        """Apply tier changes: tier field, contact tag, pricelist, history, and the event."""
        today = self.env.company._ecrm_loyalty_today()
        all_tags = self.env["ecrm.loyalty.tier"].with_context(active_test=False).search([]).category_id  # pylint: disable=no-search-all
        by_target = defaultdict(lambda: self.browse())
        by_move = defaultdict(lambda: self.browse())
        for partner, (old, new, _amount) in changes.items():
            by_target[new] |= partner
            by_move[old, new] |= partner
        for tier, partners in by_target.items():
            vals = {
                "ecrm_tier_id": tier.id,
                "ecrm_tier_since": today,
                "ecrm_tier_grace_until": False,
            }
            commands = [Command.unlink(tag.id) for tag in all_tags - tier.category_id]
            if tier.category_id:
                commands.append(Command.link(tier.category_id.id))
            if commands:
                vals["category_id"] = commands
            if tier.pricelist_id:
                vals["property_product_pricelist"] = tier.pricelist_id.id
            # sudo: the tier follows the customer's purchases, whoever confirmed the order
            partners.sudo().write(vals)
        self.env["ecrm.loyalty.tier.history"].sudo().with_context(ecrm_ledger_engine=True).create(
            [
                {
                    "partner_id": partner.id,
                    "tier_from_id": old.id,
                    "tier_to_id": new.id,
                    "direction": "up" if (new.threshold if new else -1) > (old.threshold if old else -1) else "down",
                    "qualifying_amount": amount,
                }
                for partner, (old, new, amount) in changes.items()
            ]
        )
        for (old, new), partners in by_move.items():
            partners._ecrm_notify_event("loyalty.tier_changed", tier_from=old, tier_to=new)

    def _cron_review_tiers(self, batch_size=1000):
        """Periodic tier review: upgrades, and downgrades after the grace period. Resumable:
        partners are reviewed by increasing id from the last committed one."""
        cron = self.env["ir.cron"]
        domain = [("ecrm_tier_id", "!=", False)]
        with_orders = self.env["sale.order"]._read_group(
            [("state", "=", "sale"), ("company_id", "=", self.env.company.id)],
            ["partner_id"],
        )
        partner_ids = sorted(set(self.search(domain).ids) | {p.commercial_partner_id.id for [p] in with_orders})
        cron._commit_progress(remaining=len(partner_ids))
        for start in range(0, len(partner_ids), batch_size):
            batch = self.browse(partner_ids[start : start + batch_size])
            batch._ecrm_tier_evaluate(upgrade_only=False)
            if not cron._commit_progress(len(batch)):
                break

    def action_ecrm_loyalty_cards(self):
        self.ensure_one()
        return {
            "name": self.env._("Loyalty Cards"),
            "type": "ir.actions.act_window",
            "res_model": "loyalty.card",
            "view_mode": "list,form",
            "domain": [("partner_id", "=", self.id)],
        }
