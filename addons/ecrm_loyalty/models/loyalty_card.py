from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import float_compare, float_is_zero


class LoyaltyCard(models.Model):
    _inherit = "loyalty.card"

    ecrm_managed = fields.Boolean(related="program_id.ecrm_managed")
    ecrm_ledger_ids = fields.One2many("ecrm.loyalty.ledger", "card_id", string="Points Ledger", readonly=True)
    ecrm_lot_ids = fields.One2many("ecrm.loyalty.lot", "card_id", string="Point Lots", readonly=True)
    ecrm_pending_points = fields.Float("Pending Points", compute="_compute_ecrm_lot_figures")
    ecrm_expiring_points = fields.Float("Points Expiring Soon", compute="_compute_ecrm_lot_figures")
    ecrm_next_expiry_date = fields.Date("Next Expiry", compute="_compute_ecrm_lot_figures")
    ecrm_tier_id = fields.Many2one(related="partner_id.ecrm_tier_id", string="Tier")

    def _compute_ecrm_lot_figures(self):
        today = self.env.company._ecrm_loyalty_today()
        Lot = self.env["ecrm.loyalty.lot"].sudo()  # sudo: figures of the card the user can read
        pending = dict(
            Lot._read_group(
                [("card_id", "in", self.ids), ("state", "=", "pending")],
                ["card_id"],
                ["pending_points:sum"],
            )
        )
        soon = {}
        for card_id, expiry_date, remaining in Lot._read_group(
            [
                ("card_id", "in", self.ids),
                ("state", "=", "available"),
                ("remaining", ">", 0),
                ("expiry_date", "!=", False),
            ],
            ["card_id", "expiry_date:day"],
            ["remaining:sum"],
        ):
            soon.setdefault(card_id, []).append((expiry_date, remaining))
        for card in self:
            card.ecrm_pending_points = pending.get(card, 0.0)
            dates = sorted(soon.get(card, []))
            notice = card.program_id.ecrm_expiring_notice_days or 30
            horizon = fields.Date.add(today, days=notice)
            card.ecrm_next_expiry_date = dates[0][0] if dates else False
            card.ecrm_expiring_points = sum(r for d, r in dates if d <= horizon)

    @api.model_create_multi
    def create(self, vals_list):
        cards = super().create(vals_list)
        opening = cards.filtered(lambda c: c.ecrm_managed and not float_is_zero(c.points, precision_digits=6))
        if opening and not self.env.context.get("ecrm_ledger_sync"):
            opening._ecrm_check_adjust_rights()
            opening._ecrm_open_balances(reason=self.env._("Initial balance"))
        return cards

    def write(self, vals):
        if "points" not in vals or self.env.context.get("ecrm_ledger_sync"):
            return super().write(vals)
        managed = self.filtered("ecrm_managed")
        if not managed:
            return super().write(vals)
        if self.env.context.get("ecrm_ledger_defer"):
            # Odoo's own order flow moves the balance; the order's ledger lines will do it instead
            others_vals = dict(vals)
            others_vals.pop("points")
            if others_vals:
                super(LoyaltyCard, managed).write(others_vals)
            return super(LoyaltyCard, self - managed).write(vals) if self - managed else True
        # any other change of the balance is a manual adjustment
        managed._ecrm_check_adjust_rights()
        old = {card.id: card.points for card in managed}
        res = super().write(vals)
        reason = self.env.context.get("ecrm_ledger_reason") or self.env._("Balance changed on the card")
        managed._ecrm_record_adjustment({card.id: card.points - old[card.id] for card in managed}, reason)
        return res

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    def ecrm_get_balance(self):
        """Balance of each card.

        :return: list of dicts ``{card_id, code, partner_id, program_id, points, pending_points,
            value, expiring_points, next_expiry_date, tier}``
        """
        return [
            {
                "card_id": card.id,
                "code": card.code,
                "partner_id": card.partner_id.id,
                "program_id": card.program_id.id,
                "points": card.points,
                "pending_points": card.ecrm_pending_points,
                "value": card.program_id.currency_id.round(card.points * card.program_id.ecrm_point_value),
                "expiring_points": card.ecrm_expiring_points,
                "next_expiry_date": card.ecrm_next_expiry_date and fields.Date.to_string(card.ecrm_next_expiry_date),
                "tier": card.partner_id.ecrm_tier_id.name or False,
            }
            for card in self
        ]

    def ecrm_redeem(self, points, description=None):
        """Spend ``points`` of this card outside a sales order (soonest-expiring points first).

        :param float points: positive number of points, at most the available balance
        :param str description: shown on the ledger lines
        :return: dict ``{line_ids, points}`` — the redeem lines and the new balance
        :raises UserError: points not positive, over the balance, card archived/expired/not in a ledger program
        """
        self.ensure_one()
        self._ecrm_check_usable(points)
        lines = self.env["ecrm.loyalty.ledger"]._ecrm_consume(
            [{"card": self, "points": points, "kind": "redeem", "reason": description}]
        )
        return {"line_ids": lines.ids, "points": self.points}

    def ecrm_convert_to_coupon(self, points):
        """Convert ``points`` into a coupon of the program's coupon program worth their value.

        :return: dict ``{coupon_id, code, amount, line_ids, points}``
        """
        self.ensure_one()
        self._ecrm_check_usable(points)
        coupon_program = self.program_id.ecrm_coupon_program_id
        if not coupon_program:
            raise UserError(
                self.env._(
                    "Program %(program)s has no coupon program to convert points to.",
                    program=self.program_id.name,
                )
            )
        amount = self.program_id.currency_id.round(points * self.program_id.ecrm_point_value)
        # sudo: the coupon is issued by the loyalty engine in exchange for the points
        coupon = (
            self.env["loyalty.card"]
            .sudo()
            .create(
                {
                    "program_id": coupon_program.id,
                    "partner_id": self.partner_id.id,
                    "points": amount,
                }
            )
        )
        lines = self.env["ecrm.loyalty.ledger"]._ecrm_consume(
            [
                {
                    "card": self,
                    "points": points,
                    "kind": "redeem",
                    "coupon": coupon,
                    "reason": self.env._("Converted to coupon %(code)s", code=coupon.code),
                }
            ]
        )
        return {
            "coupon_id": coupon.id,
            "code": coupon.code,
            "amount": amount,
            "line_ids": lines.ids,
            "points": self.points,
        }

    def ecrm_adjust(self, points, reason):
        """Manual adjustment by a loyalty manager: ``points`` > 0 adds a lot, < 0 spends the
        soonest-expiring points (never below zero).

        :return: dict ``{line_ids, points}``
        :raises AccessError: the user is not a loyalty manager
        :raises UserError: no reason, zero points, archived/expired card, not enough points
        """
        self.ensure_one()
        self._ecrm_check_adjust_rights()
        if not (reason or "").strip():
            raise UserError(self.env._("A manual adjustment needs a reason."))
        if float_is_zero(points or 0.0, precision_digits=2):
            raise UserError(self.env._("An adjustment must add or remove some points."))
        self._ecrm_check_usable(abs(points))
        Ledger = self.env["ecrm.loyalty.ledger"]
        if points > 0:
            lines = Ledger._ecrm_award(
                [
                    {
                        "card": self,
                        "points": points,
                        "kind": "adjust",
                        "reason": reason,
                        "tier": self.partner_id.ecrm_tier_id,
                    }
                ]
            )
        else:
            lines = Ledger._ecrm_consume([{"card": self, "points": -points, "kind": "adjust", "reason": reason}])
        return {"line_ids": lines.ids, "points": self.points}

    def action_ecrm_adjust(self):
        self.ensure_one()
        return {
            "name": self.env._("Adjust Points"),
            "type": "ir.actions.act_window",
            "res_model": "ecrm.loyalty.adjust",
            "view_mode": "form",
            "target": "new",
            "context": {"default_card_id": self.id},
        }

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _ecrm_check_adjust_rights(self):
        if not self.env.su and not self.env.user.has_group("ecrm_loyalty.ecrm_loyalty_group_manager"):
            raise AccessError(self.env._("Only loyalty managers can adjust points by hand."))

    def _ecrm_check_usable(self, points):
        self.ensure_one()
        if not isinstance(points, (int, float)) or float_compare(points, 0.0, precision_digits=2) <= 0:
            raise UserError(self.env._("The number of points must be positive."))
        if not self.ecrm_managed:
            raise UserError(
                self.env._(
                    "Card %(card)s does not belong to a loyalty program with a points ledger.",
                    card=self.code,
                )
            )
        if not self.active or not self.program_id.active:
            raise UserError(self.env._("Card %(card)s is archived.", card=self.code))
        if self.expiration_date and self.expiration_date < self.env.company._ecrm_loyalty_today():
            raise UserError(self.env._("Card %(card)s has expired.", card=self.code))

    def _ecrm_record_adjustment(self, deltas, reason):
        """Record balance changes already applied to the cards (no card update)."""
        Ledger = self.env["ecrm.loyalty.ledger"]
        awards, spends = [], []
        for card in self:
            delta = deltas.get(card.id, 0.0)
            if delta > 0:
                awards.append(
                    {
                        "card": card,
                        "points": delta,
                        "kind": "adjust",
                        "reason": reason,
                        "tier": card.partner_id.ecrm_tier_id,
                    }
                )
            elif delta < 0:
                spends.append(Ledger._ecrm_line_vals(card, "adjust", points=delta, reason=reason))
        lines = Ledger._ecrm_award(awards, bump_cards=False)
        if spends:
            # take the points from the lots too, soonest-expiring first
            lots_per_card = Ledger._ecrm_available_lots(self)
            lot_delta = {}
            for vals in spends:
                left = -vals["points"]
                for lot in lots_per_card.get(vals["card_id"], []):
                    take = min(left, lot.remaining)
                    if take > 0:
                        lot_delta[lot.id] = -take
                        left -= take
            self.env["ecrm.loyalty.lot"]._ecrm_add_remaining(lot_delta)
            lines |= Ledger._ecrm_write_lines(spends, bump_cards=False)
        return lines

    def _ecrm_open_balances(self, reason=None):
        """Record in the ledger the balance the cards have but their ledger lacks (cards created
        with points, programs switched to the ledger)."""
        cards = self.filtered("ecrm_managed")
        if not cards:
            return
        Ledger = self.env["ecrm.loyalty.ledger"]
        sums = dict(Ledger.sudo()._read_group([("card_id", "in", cards.ids)], ["card_id"], ["points:sum"]))
        deltas = {card.id: card.points - sums.get(card, 0.0) for card in cards}
        cards._ecrm_record_adjustment(deltas, reason or self.env._("Opening balance"))
