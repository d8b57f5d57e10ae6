from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, float_compare, float_is_zero

from .tools import bulk_add, insert_rows

POINT_DIGITS = 2


class EcrmLoyaltyLedger(models.Model):
    """One line per points event of a loyalty card. Append-only: lines are never changed or
    deleted, a mistake is corrected by a new line. ``points`` is the effect of the line on the
    card's available balance, ``pending_points`` its effect on the pending balance; the card's
    ``points`` always equals the sum of ``points`` of its lines (see ``_ecrm_check_balances``).
    """

    _name = "ecrm.loyalty.ledger"
    _description = "Loyalty Points Ledger"
    _order = "date desc, id desc"
    _rec_name = "kind"

    kind = fields.Selection(
        [
            ("earn", "Earn"),
            ("release", "Release"),
            ("redeem", "Redeem"),
            ("reverse", "Reverse"),
            ("expire", "Expire"),
            ("adjust", "Adjustment"),
        ],
        required=True,
        readonly=True,
    )
    date = fields.Date(required=True, readonly=True, default=lambda self: self.env.company._ecrm_loyalty_today())
    card_id = fields.Many2one("loyalty.card", required=True, readonly=True, index=True, ondelete="restrict")
    # program, company, date and expiry are served by the liability index below (few indexes: fast inserts)
    program_id = fields.Many2one("loyalty.program", required=True, readonly=True, ondelete="restrict")
    partner_id = fields.Many2one("res.partner", readonly=True, index=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="restrict")
    lot_id = fields.Many2one("ecrm.loyalty.lot", readonly=True, index="btree_not_null", ondelete="restrict")
    tier_id = fields.Many2one("ecrm.loyalty.tier", readonly=True, ondelete="restrict")
    points = fields.Float(readonly=True, help="Effect of this line on the available balance of the card.")
    pending_points = fields.Float(
        readonly=True,
        help="Effect of this line on the pending (not yet available) points.",
    )
    shortfall_points = fields.Float(
        readonly=True,
        help="Points a reversal could not take back because they were already spent (cap policy).",
    )
    currency_id = fields.Many2one("res.currency", required=True, readonly=True)
    value = fields.Monetary(
        readonly=True,
        help="Value of the points of this line (available and pending) in the program currency.",
    )
    expiry_date = fields.Date(readonly=True)
    order_id = fields.Many2one("sale.order", string="Sales Order", readonly=True, index="btree_not_null")
    move_id = fields.Many2one("account.move", string="Credit Note", readonly=True, index="btree_not_null")
    coupon_id = fields.Many2one("loyalty.card", readonly=True, ondelete="restrict")
    reversed_line_id = fields.Many2one(
        "ecrm.loyalty.ledger",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    reversal_key = fields.Char(
        readonly=True,
        help="The event that reversed the line (order cancel, credit note).",
    )
    reason = fields.Char(readonly=True)
    user_id = fields.Many2one(
        "res.users",
        readonly=True,
        default=lambda self: self.env.uid,
        ondelete="set null",
    )

    _earn_positive = models.Constraint(
        "CHECK(kind NOT IN ('earn', 'release') OR points >= 0)",
        "An earn or release line cannot take points away.",
    )
    _earn_pending_positive = models.Constraint(
        "CHECK(kind <> 'earn' OR pending_points >= 0)",
        "An earn line cannot take pending points away.",
    )
    _spend_negative = models.Constraint(
        "CHECK(kind NOT IN ('redeem', 'expire') OR (points <= 0 AND pending_points = 0))",
        "Redeem and expire lines can only take available points away.",
    )
    _adjust_reason = models.Constraint(
        "CHECK(kind <> 'adjust' OR (reason IS NOT NULL AND reason <> ''))",
        "A manual adjustment needs a reason.",
    )
    _reverse_target = models.Constraint(
        "CHECK(kind <> 'reverse' OR (reversed_line_id IS NOT NULL AND reversal_key IS NOT NULL))",
        "A reversal must say which line and which event it reverses.",
    )
    _shortfall_positive = models.Constraint("CHECK(shortfall_points >= 0)", "A shortfall cannot be negative.")
    _reverse_once = models.UniqueIndex(
        "(reversed_line_id, reversal_key) WHERE reversed_line_id IS NOT NULL",
        "These points were already reversed for this event.",
    )
    _liability_idx = models.Index("(company_id, date, program_id, tier_id, expiry_date)")

    def init(self):
        # The ledger is append-only at the database level too: UPDATE and DELETE are refused
        # unless a DBA explicitly opens a maintenance window in the current transaction.
        self.env.cr.execute(
            SQL(
                """
                CREATE OR REPLACE FUNCTION ecrm_loyalty_ledger_append_only() RETURNS trigger AS $$
                BEGIN
                    IF coalesce(current_setting('ecrm_loyalty.ledger_maintenance', true), '') = 'on' THEN
                        RETURN coalesce(NEW, OLD);
                    END IF;
                    RAISE EXCEPTION 'ecrm_loyalty_ledger is append-only: %% refused', TG_OP
                        USING ERRCODE = 'integrity_constraint_violation';
                END;
                $$ LANGUAGE plpgsql;
                DROP TRIGGER IF EXISTS ecrm_loyalty_ledger_append_only ON ecrm_loyalty_ledger;
                CREATE TRIGGER ecrm_loyalty_ledger_append_only BEFORE UPDATE OR DELETE ON ecrm_loyalty_ledger
                    FOR EACH ROW EXECUTE FUNCTION ecrm_loyalty_ledger_append_only();
                """
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.context.get("ecrm_ledger_engine"):
            raise AccessError(
                self.env._(
                    "Ledger lines are written by the loyalty engine only: earn, redeem or adjust points instead."
                )
            )
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The loyalty ledger is append-only: lines cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The loyalty ledger is append-only: lines cannot be deleted."))

    # ------------------------------------------------------------------
    # Engine: every change of points goes through these methods
    # ------------------------------------------------------------------
    @api.model
    def _ecrm_line_vals(self, card, kind, points=0.0, pending_points=0.0, lot=None, rate=None, **extra):
        """Values of one ledger line of ``card``; the value uses the lot's rate when there is a lot."""
        program = card.program_id
        if rate is None:
            rate = lot.point_value if lot else program.ecrm_point_value
        vals = {
            "kind": kind,
            "card_id": card.id,
            "program_id": program.id,
            "partner_id": card.partner_id.id,
            "company_id": (card.company_id or self.env.company).id,
            "currency_id": (program.currency_id or self.env.company.currency_id).id,
            "points": points,
            "pending_points": pending_points,
            "shortfall_points": 0.0,
            "value": (points + pending_points) * rate,
            "date": (card.company_id or self.env.company)._ecrm_loyalty_today(),
            "user_id": self.env.uid,
        }
        if lot:
            vals.update(lot_id=lot.id, expiry_date=lot.expiry_date, tier_id=lot.tier_id.id)
        vals.update(extra)
        return vals

    @api.model
    def _ecrm_write_lines(self, vals_list, bump_cards=True, orm=False):
        """Create ledger lines and add their points to the cards (unless ``bump_cards`` is off,
        for lines that record a balance the card already has). ``orm`` writes the cards through
        the ORM one by one (chatter tracking); by default one SQL statement updates them all."""
        vals_list = [v for v in vals_list if not self._ecrm_is_empty(v)]
        if not vals_list:
            return self.browse()
        # sudo: ledger lines are written by the engine on behalf of the user of the event;
        # access rights deliberately give nobody create access to the ledger.
        lines = insert_rows(self.sudo(), vals_list)
        if bump_cards:
            deltas = defaultdict(float)
            for vals in vals_list:
                deltas[vals["card_id"]] += vals.get("points", 0.0)
            self._ecrm_bump_cards(deltas, orm=orm)
        self.env["account.move"]._ecrm_post_loyalty_entries(lines)
        self.env["loyalty.card"].browse({vals["card_id"] for vals in vals_list}).invalidate_recordset(
            ["ecrm_pending_points", "ecrm_expiring_points", "ecrm_next_expiry_date"]
        )
        return lines.sudo(False)

    @api.model
    def _ecrm_is_empty(self, vals):
        return all(
            float_is_zero(vals.get(f, 0.0), precision_digits=6)
            for f in ("points", "pending_points", "shortfall_points")
        ) and vals["kind"] not in ("earn",)

    @api.model
    def _ecrm_bump_cards(self, deltas, orm=False):
        deltas = {card_id: d for card_id, d in deltas.items() if not float_is_zero(d, precision_digits=6)}
        if not deltas:
            return
        # sudo: the card balance follows the ledger whatever the rights of the user of the event
        cards = self.env["loyalty.card"].browse(deltas).sudo().with_context(ecrm_ledger_sync=True)
        if orm:
            for card in cards:
                card.points = card.points + deltas[card.id]
            return
        # Odoo's "when reaching" communications still go out when the balance crosses a milestone
        milestones = not self.env.context.get("loyalty_no_mail") and cards.program_id.communication_plan_ids.filtered(
            lambda plan: plan.trigger == "points_reach"
        )
        reaching = (
            cards.filtered(lambda card: card.program_id in milestones.program_id) if milestones else cards.browse()
        )
        old = {card: card.points for card in reaching}
        cards.flush_recordset(["points"])
        bulk_add(self.env.cr, "loyalty_card", "points", deltas)
        cards.invalidate_recordset(["points"])
        if reaching:
            reaching._send_points_reach_communication(
                {card: {"old": old[card], "new": old[card] + deltas[card.id]} for card in reaching}
            )

    @api.model
    def _ecrm_lock_cards(self, cards):
        """Lock the cards' rows until the end of the transaction (waits for concurrent redemptions)
        and re-read their balance."""
        if not cards:
            return
        self.env.cr.execute(
            SQL(
                "SELECT id FROM loyalty_card WHERE id IN %s ORDER BY id FOR UPDATE",
                tuple(sorted(cards.ids)),
            )
        )
        cards.invalidate_recordset(["points"])

    @api.model
    def _ecrm_award(self, awards, bump_cards=True):
        """Give points to cards, one lot per award.

        :param awards: list of dicts with ``card`` (record), ``points`` (> 0), ``kind``
            ('earn' or 'adjust'), optional ``pending`` (bool), ``available_date``, ``order``,
            ``reason``, ``tier`` and ``date``
        :return: the ledger lines
        """
        awards = [a for a in awards if float_compare(a["points"], 0.0, precision_digits=POINT_DIGITS) > 0]
        if not awards:
            return self.browse()
        today = self.env.company._ecrm_loyalty_today()
        lot_vals = []
        for award in awards:
            card = award["card"]
            program = card.program_id
            date = award.get("date") or today
            months = program.ecrm_expiry_months
            lot_vals.append(
                {
                    "card_id": card.id,
                    "program_id": program.id,
                    "partner_id": card.partner_id.id,
                    "company_id": (card.company_id or self.env.company).id,
                    "tier_id": award.get("tier", self.env["ecrm.loyalty.tier"]).id,
                    "order_id": award.get("order", self.env["sale.order"]).id,
                    "date": date,
                    "available_date": award.get("available_date") or (not award.get("pending") and date) or False,
                    "expiry_date": fields.Date.add(date, months=months) if months else False,
                    "points": award["points"],
                    "remaining": 0.0 if award.get("pending") else award["points"],
                    "pending_points": award["points"] if award.get("pending") else 0.0,
                    "state": "pending" if award.get("pending") else "available",
                    "expiring_notified": False,
                    "reversed_points": 0.0,
                    "expired_points": 0.0,
                    "point_value": program.ecrm_point_value,
                }
            )
        # sudo: lots are the engine's bookkeeping of the ledger, like the ledger itself
        lots = insert_rows(self.env["ecrm.loyalty.lot"].sudo(), lot_vals)
        line_vals = []
        for award, lot, lot_val in zip(awards, lots, lot_vals):
            pending = award.get("pending")
            extra = {"order_id": award["order"].id} if award.get("order") else {}
            if award.get("reason"):
                extra["reason"] = award["reason"]
            line_vals.append(
                self._ecrm_line_vals(
                    award["card"],
                    award.get("kind", "earn"),
                    points=0.0 if pending else award["points"],
                    pending_points=award["points"] if pending else 0.0,
                    rate=lot_val["point_value"],
                    lot_id=lot.id,
                    expiry_date=lot_val["expiry_date"],
                    tier_id=lot_val["tier_id"],
                    date=lot_val["date"],
                    **extra,
                )
            )
        return self._ecrm_write_lines(line_vals, bump_cards=bump_cards)

    @api.model
    def _ecrm_available_lots(self, cards):
        """Available lots with points left, per card, soonest-expiring first (never-expiring last)."""
        lots = (
            self.env["ecrm.loyalty.lot"]
            .sudo()
            .search(
                [
                    ("card_id", "in", cards.ids),
                    ("state", "=", "available"),
                    ("remaining", ">", 0),
                ],
                order="expiry_date asc nulls last, id",
            )
        )
        per_card = defaultdict(list)
        for lot in lots:
            per_card[lot.card_id.id].append(lot)
        return per_card

    @api.model
    def _ecrm_consume(self, consumptions, strict=True):
        """Take points from cards, soonest-expiring lot first, one ledger line per lot touched.

        :param consumptions: list of dicts with ``card``, ``points`` (> 0), ``kind`` ('redeem',
            'adjust'), and optional ``order``, ``coupon``, ``reason``
        :param strict: refuse (UserError) to take more than the available balance
        :return: the ledger lines
        """
        consumptions = [c for c in consumptions if float_compare(c["points"], 0.0, precision_digits=POINT_DIGITS) > 0]
        if not consumptions:
            return self.browse()
        cards = self.env["loyalty.card"].browse({c["card"].id for c in consumptions})
        self._ecrm_lock_cards(cards)
        wanted = defaultdict(float)
        for cons in consumptions:
            wanted[cons["card"].id] += cons["points"]
        for card in cards:
            if strict and float_compare(wanted[card.id], card.points, precision_digits=POINT_DIGITS) > 0:
                raise UserError(
                    self.env._(
                        "Card %(card)s has %(balance)s points available, %(wanted)s cannot be spent.",
                        card=card.code,
                        balance=round(card.points, POINT_DIGITS),
                        wanted=round(wanted[card.id], POINT_DIGITS),
                    )
                )
        lots_per_card = self._ecrm_available_lots(cards)
        remaining = {lot.id: lot.remaining for lots in lots_per_card.values() for lot in lots}
        line_vals = []
        for cons in consumptions:
            card = cons["card"]
            extra = {
                key: cons[src].id if hasattr(cons[src], "id") else cons[src]
                for key, src in (
                    ("order_id", "order"),
                    ("coupon_id", "coupon"),
                    ("reason", "reason"),
                )
                if cons.get(src)
            }
            left = cons["points"]
            for lot in lots_per_card.get(card.id, []):
                if float_is_zero(left, precision_digits=6):
                    break
                take = min(left, remaining[lot.id])
                if float_is_zero(take, precision_digits=6):
                    continue
                remaining[lot.id] -= take
                left -= take
                line_vals.append(self._ecrm_line_vals(card, cons.get("kind", "redeem"), points=-take, lot=lot, **extra))
            if not float_is_zero(left, precision_digits=6):
                # only without lots (balance opened before the ledger or negative): no expiry
                line_vals.append(self._ecrm_line_vals(card, cons.get("kind", "redeem"), points=-left, **extra))
        changed = {
            lot.id: remaining[lot.id] - lot.remaining
            for lots in lots_per_card.values()
            for lot in lots
            if remaining[lot.id] != lot.remaining
        }
        self.env["ecrm.loyalty.lot"]._ecrm_add_remaining(changed)
        return self._ecrm_write_lines(line_vals)

    @api.model
    def _ecrm_reverse(self, reversals):
        """Reverse (part of) earn and redeem lines.

        :param reversals: list of dicts with ``line`` (the earn or redeem line), ``points``
            (positive amount of the line to reverse) and ``key`` (the reversing event, e.g.
            ``cancel`` or ``move:42``; a line is reversed at most once per event)
        :return: the reverse lines
        """
        reversals = [r for r in reversals if float_compare(r["points"], 0.0, precision_digits=POINT_DIGITS) > 0]
        if not reversals:
            return self.browse()
        cards = self.env["loyalty.card"].browse({r["line"].card_id.id for r in reversals})
        self._ecrm_lock_cards(cards)
        lots_per_card = self._ecrm_available_lots(cards)
        balance = {card.id: card.points for card in cards}
        lot_delta = defaultdict(float)
        pending_delta = defaultdict(float)
        reversed_per_lot = defaultdict(float)
        expired_delta = defaultdict(float)
        line_vals = []
        for rev in reversals:
            line, amount, card = rev["line"], rev["points"], rev["line"].card_id
            lot = line.lot_id
            base = {
                "reversed_line_id": line.id,
                "reversal_key": rev["key"],
                "order_id": line.order_id.id,
            }
            if rev.get("move"):
                base["move_id"] = rev["move"].id
            if line.kind == "redeem":
                # give the spent points back to the lot they came from (the cron expires them if due)
                line_vals.append(self._ecrm_line_vals(card, "reverse", points=amount, lot=lot, **base))
                if lot.state == "expired":
                    # the lot is closed: the points given back expire at once
                    line_vals.append(self._ecrm_line_vals(card, "expire", points=-amount, lot=lot))
                    expired_delta[lot.id] += amount
                    continue
                if lot:
                    lot_delta[lot.id] += amount
                balance[card.id] += amount
                continue
            if lot.state == "expired":
                # points that already expired cannot be taken back a second time
                left = lot.points - lot.reversed_points - reversed_per_lot[lot.id] - lot.expired_points
                amount = min(amount, max(left, 0.0))
                if float_is_zero(amount, precision_digits=6):
                    continue
            reversed_per_lot[lot.id] += amount
            if lot.state == "pending":
                # pending points are simply withdrawn from the pending balance
                pending_delta[lot.id] -= amount
                line_vals.append(self._ecrm_line_vals(card, "reverse", pending_points=-amount, lot=lot, **base))
                continue
            # take the points back from their own lot first, then from the card's other lots
            from_lot = min(amount, lot.remaining + lot_delta[lot.id]) if lot.state == "available" else 0.0
            lot_delta[lot.id] -= from_lot
            rest = amount - from_lot
            for other in lots_per_card.get(card.id, []):
                if float_is_zero(rest, precision_digits=6):
                    break
                if other == lot:
                    continue
                take = min(rest, other.remaining + lot_delta[other.id])
                if take > 0:
                    lot_delta[other.id] -= take
                    rest -= take
            available = max(balance[card.id], 0.0)
            taken = amount
            shortfall = 0.0
            if (card.program_id.ecrm_reversal_policy or "cap") == "cap" and amount > available:
                taken = available
                shortfall = amount - available
            balance[card.id] -= taken
            line_vals.append(
                self._ecrm_line_vals(
                    card,
                    "reverse",
                    points=-taken,
                    lot=lot,
                    shortfall_points=shortfall,
                    **base,
                )
            )
        Lot = self.env["ecrm.loyalty.lot"]
        Lot._ecrm_add_remaining(lot_delta)
        Lot._ecrm_add_remaining(pending_delta, column="pending_points")
        Lot._ecrm_add_remaining(reversed_per_lot, column="reversed_points")
        Lot._ecrm_add_remaining(expired_delta, column="expired_points")
        return self._ecrm_write_lines(line_vals)

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    @api.model
    def _ecrm_check_balances(self, cards=None):
        """Compare every ledger-managed card's ``points`` with the sum of its ledger lines.

        :return: list of ``(card_id, card_points, ledger_points)`` that disagree (empty = all agree)
        """
        self.env["loyalty.card"].flush_model(["points"])
        self.flush_model(["points", "card_id"])
        card_filter = SQL("AND c.id IN %s", tuple(cards.ids)) if cards else SQL()
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id, c.points, coalesce(l.points, 0)
                  FROM loyalty_card c
                  JOIN loyalty_program p ON p.id = c.program_id
             LEFT JOIN (SELECT card_id, sum(points) AS points FROM ecrm_loyalty_ledger GROUP BY card_id) l
                    ON l.card_id = c.id
                 WHERE p.program_type = 'loyalty' AND p.ecrm_ledger %s
                   AND abs(c.points - coalesce(l.points, 0)) > 0.005
                """,
                card_filter,
            )
        )
        return self.env.cr.fetchall()
