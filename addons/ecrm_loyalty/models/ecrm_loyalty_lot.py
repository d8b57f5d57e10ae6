from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, float_is_zero

from .tools import bulk_add, inverse_one2many


class EcrmLoyaltyLot(models.Model):
    """The points of one award (an order's earn, a positive adjustment), with their own expiry
    date. The lot is the engine's bookkeeping: ``remaining`` tells how much of the award is
    still available; every change of it is backed by a ledger line."""

    _name = "ecrm.loyalty.lot"
    _description = "Loyalty Points Lot"
    _order = "expiry_date asc nulls last, id"
    _rec_name = "date"

    card_id = fields.Many2one("loyalty.card", required=True, readonly=True, index=True, ondelete="restrict")
    program_id = fields.Many2one("loyalty.program", required=True, readonly=True, index=True, ondelete="restrict")
    partner_id = fields.Many2one("res.partner", readonly=True, index=True, ondelete="restrict")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="restrict")
    tier_id = fields.Many2one("ecrm.loyalty.tier", readonly=True, ondelete="restrict")
    order_id = fields.Many2one("sale.order", readonly=True, index="btree_not_null")
    date = fields.Date(required=True, readonly=True)
    available_date = fields.Date(readonly=True, help="When the pending points become available (return window).")
    expiry_date = fields.Date(readonly=True)
    points = fields.Float(required=True, readonly=True, help="Points awarded.")
    remaining = fields.Float(readonly=True, help="Points of the award still available.")
    pending_points = fields.Float(readonly=True, help="Points of the award still pending.")
    reversed_points = fields.Float(readonly=True)
    expired_points = fields.Float(readonly=True)
    point_value = fields.Float(digits=(16, 6), readonly=True)
    state = fields.Selection(
        [("pending", "Pending"), ("available", "Available"), ("expired", "Expired")],
        required=True,
        readonly=True,
        index=True,
    )
    expiring_notified = fields.Boolean(readonly=True, help="The 'points about to expire' event was sent.")
    line_ids = fields.One2many("ecrm.loyalty.ledger", "lot_id", readonly=True)

    _remaining_positive = models.Constraint("CHECK(remaining >= -0.000001)", "A lot cannot go below zero.")
    _expiry_idx = models.Index("(state, expiry_date) WHERE remaining > 0")

    @api.model
    def _ecrm_add_remaining(self, deltas, column="remaining"):
        deltas = {lot_id: d for lot_id, d in deltas.items() if not float_is_zero(d, precision_digits=6)}
        if not deltas:
            return
        self.flush_model([column])
        bulk_add(self.env.cr, self._table, column, deltas)
        self.browse(deltas).invalidate_recordset([column])

    # ------------------------------------------------------------------
    # Pending points
    # ------------------------------------------------------------------
    def _ecrm_releasable(self):
        """The pending lots of ``self`` whose points can become available today."""
        today = self.env.company._ecrm_loyalty_today()
        lots = self.filtered(lambda lot: lot.state == "pending")
        by_payment = lots.filtered(lambda lot: lot.program_id.ecrm_pending_mode == "payment")
        paid_orders = by_payment.order_id.filtered(
            lambda order: (
                order.invoice_status == "invoiced"
                and (
                    invoices := order.invoice_ids.filtered(
                        lambda m: m.state == "posted" and m.move_type == "out_invoice"
                    )
                )
                and all(inv.payment_state in ("paid", "in_payment") for inv in invoices)
            )
        )
        return lots.filtered(
            lambda lot: (
                (lot.program_id.ecrm_pending_mode == "payment" and lot.order_id in paid_orders)
                or (
                    lot.program_id.ecrm_pending_mode != "payment" and lot.available_date and lot.available_date <= today
                )
            )
        )

    def _ecrm_release(self):
        """Make the pending points of these lots available (one release line per lot)."""
        Ledger = self.env["ecrm.loyalty.ledger"]
        lots = self.filtered(lambda lot: lot.state == "pending")
        vals = [
            Ledger._ecrm_line_vals(
                lot.card_id,
                "release",
                points=lot.pending_points,
                pending_points=-lot.pending_points,
                lot=lot,
            )
            | {"order_id": lot.order_id.id}
            for lot in lots
        ]
        self._ecrm_add_remaining({lot.id: lot.pending_points for lot in lots})
        self._ecrm_add_remaining({lot.id: -lot.pending_points for lot in lots}, column="pending_points")
        today = self.env.company._ecrm_loyalty_today()
        lots.write({"state": "available", "available_date": today})
        return Ledger._ecrm_write_lines(vals, orm=False)

    @api.model
    def _cron_release_pending(self, batch_size=1000):
        """Daily: make pending points available once their order is paid or its return window is over.
        Resumable: a batch leaves the released lots out of the next search."""
        domain = [("state", "=", "pending")]
        cron = self.env["ir.cron"]
        lots = self.search(domain, order="id")
        releasable = lots._ecrm_releasable()
        cron._commit_progress(remaining=len(releasable))
        for start in range(0, len(releasable), batch_size):
            batch = releasable[start : start + batch_size]
            batch._ecrm_release()
            if not cron._commit_progress(len(batch)):
                break

    # ------------------------------------------------------------------
    # Expiry
    # ------------------------------------------------------------------
    def _ecrm_expire(self):
        """Expire what is left of these lots: one expire line per lot, card balances lowered.
        Set-based (three statements whatever the number of lots): the cron runs over millions."""
        if not self:
            return self.env["ecrm.loyalty.ledger"]
        cr = self.env.cr
        self.env.flush_all()
        now = cr.now()
        today = self.env.company._ecrm_loyalty_today()
        cr.execute(
            SQL(
                """
                INSERT INTO ecrm_loyalty_ledger (
                    kind, date, card_id, program_id, partner_id, company_id, lot_id, tier_id, points,
                    pending_points, shortfall_points, currency_id, value, expiry_date, user_id,
                    create_uid, create_date, write_uid, write_date)
                SELECT 'expire', %(today)s, l.card_id, l.program_id, l.partner_id, l.company_id, l.id, l.tier_id,
                       -l.remaining, 0, 0, p.currency_id, -l.remaining * l.point_value, l.expiry_date, %(uid)s,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM ecrm_loyalty_lot l
                  JOIN loyalty_program p ON p.id = l.program_id
                 WHERE l.id IN %(ids)s AND l.state = 'available' AND l.remaining > 0
                RETURNING id, card_id
                """,
                today=today,
                uid=self.env.uid,
                now=now,
                ids=tuple(self.ids),
            )
        )
        rows = cr.fetchall()
        line_ids = [row[0] for row in rows]
        if not line_ids:
            return self.env["ecrm.loyalty.ledger"]
        cr.execute(
            SQL(
                """
                UPDATE loyalty_card c SET points = c.points + d.delta
                  FROM (SELECT card_id, sum(points) AS delta FROM ecrm_loyalty_ledger
                         WHERE id IN %(lines)s GROUP BY card_id) d
                 WHERE c.id = d.card_id;
                UPDATE ecrm_loyalty_lot l SET expired_points = coalesce(l.expired_points, 0) + l.remaining,
                       remaining = 0, state = 'expired', write_date = %(now)s, write_uid = %(uid)s
                 WHERE l.id IN %(ids)s AND l.state = 'available' AND l.remaining > 0;
                """,
                lines=tuple(line_ids),
                ids=tuple(self.ids),
                now=now,
                uid=self.env.uid,
            )
        )
        self.invalidate_recordset()
        cards = self.env["loyalty.card"].browse({row[1] for row in rows})
        cards.invalidate_recordset(["points", "ecrm_pending_points", "ecrm_expiring_points", "ecrm_next_expiry_date"])
        for model_name, fields_ in inverse_one2many(self.env, "ecrm.loyalty.ledger").items():
            self.env[model_name].invalidate_model(fields_)
        lines = self.env["ecrm.loyalty.ledger"].browse(line_ids)
        self.env["account.move"]._ecrm_post_loyalty_entries(lines)
        return lines

    @api.model
    def _cron_expire(self, batch_size=5000):
        """Daily: expire the lots whose expiry date has passed. Idempotent and resumable: every
        batch is committed and its lots leave the search domain."""
        today = self.env.company._ecrm_loyalty_today()
        domain = [
            ("state", "=", "available"),
            ("remaining", ">", 0),
            ("expiry_date", "<", today),
        ]
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=self.search_count(domain))
        # soonest expiry first: the partial index on (state, expiry_date) serves the search
        while lots := self.search(domain, limit=batch_size, order="expiry_date, id"):
            lots._ecrm_expire()
            if not cron._commit_progress(len(lots)):
                break
            self.env.invalidate_all()

    @api.model
    def _cron_notify_expiring(self, batch_size=5000):
        """Daily: fire ``loyalty.points_expiring`` once per lot, N days (program setting) before it expires."""
        today = self.env.company._ecrm_loyalty_today()
        cron = self.env["ir.cron"]
        programs = self.env["loyalty.program"].search([("ecrm_expiring_notice_days", ">", 0)])
        domains = [
            [
                ("program_id", "=", program.id),
                ("state", "=", "available"),
                ("remaining", ">", 0),
                ("expiring_notified", "=", False),
                ("expiry_date", ">=", today),
                (
                    "expiry_date",
                    "<=",
                    fields.Date.add(today, days=program.ecrm_expiring_notice_days),
                ),
            ]
            for program in programs
        ]
        cron._commit_progress(remaining=sum(self.search_count(d) for d in domains))
        for domain in domains:
            while lots := self.search(domain, limit=batch_size, order="id"):
                grouped = defaultdict(lambda: self.browse())
                for lot in lots:
                    grouped[lot.partner_id, lot.expiry_date] |= lot
                # mark first: a crash after the commit below never fires the same lot twice
                lots.write({"expiring_notified": True})
                for (partner, expiry_date), group in grouped.items():
                    if partner:
                        partner._ecrm_notify_event(
                            "loyalty.points_expiring",
                            points=sum(group.mapped("remaining")),
                            expiry_date=expiry_date,
                            lots=group,
                        )
                if not cron._commit_progress(len(lots)):
                    return
