from collections import defaultdict

from odoo import fields, models
from odoo.tools import float_is_zero


class SaleOrder(models.Model):
    _inherit = "sale.order"

    ecrm_loyalty_line_ids = fields.One2many("ecrm.loyalty.ledger", "order_id", string="Loyalty Ledger", readonly=True)

    def action_confirm(self):
        to_confirm = self.filtered(lambda order: order.state != "sale")
        # Lock the cards that pay rewards before Odoo reads their balance: two confirmations
        # spending the same card wait for each other instead of both spending the same points.
        reward_cards = to_confirm.order_line.coupon_id.filtered("ecrm_managed")
        self.env["ecrm.loyalty.ledger"]._ecrm_lock_cards(reward_cards)
        res = super(SaleOrder, self.with_context(ecrm_ledger_defer=True)).action_confirm()
        to_confirm.filtered(lambda order: order.state == "sale")._ecrm_loyalty_confirmed()
        return res

    def _action_cancel(self):
        confirmed = self.filtered(lambda order: order.state == "sale")
        res = super(SaleOrder, self.with_context(ecrm_ledger_defer=True))._action_cancel()
        confirmed._ecrm_loyalty_reverse(
            dict.fromkeys(confirmed, 1.0),
            dict.fromkeys(confirmed, 1.0),
            "cancel",
        )
        return res

    # ------------------------------------------------------------------
    # Earning and spending on confirmation
    # ------------------------------------------------------------------
    def _ecrm_loyalty_confirmed(self):
        """Write the earn and redeem lines of freshly confirmed orders (in one batch)."""
        Ledger = self.env["ecrm.loyalty.ledger"]
        earn_entries = self.coupon_point_ids.filtered(lambda pe: pe.points > 0 and pe.coupon_id.ecrm_managed)
        reward_lines = self.order_line.filtered(lambda line: line.coupon_id.ecrm_managed and line.points_cost)
        if not earn_entries and not reward_lines:
            return
        awards = self._ecrm_loyalty_awards(earn_entries)
        cost = defaultdict(float)
        for line in reward_lines:
            cost[line.order_id, line.coupon_id] += line.points_cost
        spends = [
            {"card": card, "points": points, "kind": "redeem", "order": order} for (order, card), points in cost.items()
        ]
        # points of a 'future' program only pay for later orders: spend before this batch's awards
        Ledger._ecrm_consume([s for s in spends if s["card"].program_id.applies_on == "future"])
        Ledger._ecrm_award(awards)
        Ledger._ecrm_consume([s for s in spends if s["card"].program_id.applies_on != "future"])
        self.partner_id.commercial_partner_id._ecrm_tier_evaluate(upgrade_only=True)

    def _ecrm_loyalty_awards(self, earn_entries):
        """Awards of the orders: Odoo's points times the tier multiplier, plus bonuses."""
        cards = earn_entries.coupon_id
        earned_before = {
            card
            for [card] in self.env["ecrm.loyalty.ledger"]
            .sudo()
            ._read_group(
                [
                    ("card_id", "in", cards.ids),
                    ("kind", "=", "earn"),
                    ("order_id", "not in", self.ids),
                ],
                ["card_id"],
            )
        }
        today = self.env.company._ecrm_loyalty_today()
        awards = []
        for entry in earn_entries.sorted(lambda pe: (pe.order_id.date_order, pe.order_id.id)):
            order, card, program = (
                entry.order_id,
                entry.coupon_id,
                entry.coupon_id.program_id,
            )
            partner = card.partner_id or order.partner_id
            tier = partner.commercial_partner_id.ecrm_tier_id
            points = entry.points * (tier.multiplier or 1.0)
            if program.ecrm_first_order_bonus and card not in earned_before:
                points += program.ecrm_first_order_bonus
            earned_before.add(card)
            # sudo: the birthday is restricted to loyalty users, the bonus applies whoever confirms
            birthday = partner.sudo().ecrm_birthday or partner.commercial_partner_id.sudo().ecrm_birthday
            if program.ecrm_birthday_bonus and birthday and birthday.month == (order.date_order or today).month:
                points += program.ecrm_birthday_bonus
            mode = program.ecrm_pending_mode or "none"
            awards.append(
                {
                    "card": card,
                    "points": program.currency_id.round(points) if program.currency_id else points,
                    "kind": "earn",
                    "order": order,
                    "tier": tier,
                    "pending": mode != "none",
                    "available_date": mode == "return_window"
                    and fields.Date.add(today, days=program.ecrm_return_window_days),
                }
            )
        return awards

    # ------------------------------------------------------------------
    # Reversal
    # ------------------------------------------------------------------
    def _ecrm_loyalty_reverse(self, earn_ratio, reward_ratio, key, move=None):
        """Reverse the points the orders earned and restore the points they spent, in proportion.

        :param earn_ratio: {order: share of the earned points to take back (0..1)}
        :param reward_ratio: {order: share of the spent points to give back (0..1)}
        :param key: the reversing event, a line is reversed at most once per event
        """
        Ledger = self.env["ecrm.loyalty.ledger"].sudo()  # sudo: reversal follows the document, whoever posts it
        lines = Ledger.search([("order_id", "in", self.ids), ("kind", "in", ("earn", "redeem"))])
        if not lines:
            return Ledger.browse()
        done = {
            line: (points, pending, shortfall)
            for line, points, pending, shortfall in Ledger._read_group(
                [("reversed_line_id", "in", lines.ids)],
                ["reversed_line_id"],
                ["points:sum", "pending_points:sum", "shortfall_points:sum"],
            )
        }
        reversals = []
        for line in lines:
            total = abs(line.points + line.pending_points)
            points, pending, shortfall = done.get(line, (0.0, 0.0, 0.0))
            already = abs(points + pending) + shortfall
            ratio = (earn_ratio if line.kind == "earn" else reward_ratio).get(line.order_id, 0.0)
            amount = min(total * min(ratio, 1.0), total - already)
            if not float_is_zero(amount, precision_digits=2) and amount > 0:
                reversals.append({"line": line, "points": amount, "key": key, "move": move})
        return Ledger._ecrm_reverse(reversals)
