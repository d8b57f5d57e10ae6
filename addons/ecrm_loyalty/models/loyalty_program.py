from odoo import api, fields, models


class LoyaltyProgram(models.Model):
    _inherit = "loyalty.program"

    ecrm_ledger = fields.Boolean(
        "Points Ledger",
        default=True,
        help="Record every points event of this loyalty program in the eCRM ledger (lots, expiry, "
        "reversal on refund, liability). Only used by programs of type Loyalty Cards.",
    )
    ecrm_managed = fields.Boolean(compute="_compute_ecrm_managed")
    ecrm_point_value = fields.Float(
        "Point Value",
        digits=(16, 6),
        default=0.01,
        help="Value of one point in the program currency.",
    )
    ecrm_expiry_months = fields.Integer(
        "Points Expire After (months)",
        default=12,
        help="Each award expires this many months after it was earned; 0: never.",
    )
    ecrm_expiring_notice_days = fields.Integer(
        "Expiry Notice (days)",
        default=30,
        help="Fire the 'points about to expire' event this many days before.",
    )
    ecrm_pending_mode = fields.Selection(
        [
            ("none", "Available at once"),
            ("payment", "Pending until paid"),
            ("return_window", "Pending during the return window"),
        ],
        string="Earned Points",
        default="none",
    )
    ecrm_return_window_days = fields.Integer("Return Window (days)", default=14)
    ecrm_reversal_policy = fields.Selection(
        [
            ("negative", "Allow a negative balance"),
            ("cap", "Stop at zero and record the shortfall"),
        ],
        string="Reversal of Spent Points",
        default="cap",
    )
    ecrm_first_order_bonus = fields.Float(
        "First Order Bonus", help="Extra points on the customer's first earning order."
    )
    ecrm_birthday_bonus = fields.Float(
        "Birthday Month Bonus",
        help="Extra points on orders in the customer's birthday month.",
    )
    ecrm_coupon_program_id = fields.Many2one(
        "loyalty.program",
        string="Coupon Program",
        domain="[('program_type', 'in', ('coupons', 'gift_card', 'ewallet'))]",
        help="Points converted to a coupon become a card of this program worth their value (a per-point discount of 1).",
    )
    ecrm_breakage_mode = fields.Selection(
        [("history", "Estimated from history"), ("manual", "Set by hand")],
        string="Breakage",
        default="history",
    )
    ecrm_breakage_rate = fields.Float("Breakage Rate (%)", help="Share of the points expected never to be redeemed.")
    ecrm_accounting = fields.Boolean(
        "Defer Points Revenue",
        help="Post journal entries deferring the value of issued points to a contract liability "
        "and releasing it to revenue on redemption and expiry.",
    )
    ecrm_journal_id = fields.Many2one("account.journal", string="Loyalty Journal", domain="[('type', '=', 'general')]")
    ecrm_liability_account_id = fields.Many2one("account.account", string="Contract Liability Account")
    ecrm_revenue_account_id = fields.Many2one("account.account", string="Revenue Account")

    @api.depends("ecrm_ledger", "program_type")
    def _compute_ecrm_managed(self):
        for program in self:
            program.ecrm_managed = program.ecrm_ledger and program.program_type == "loyalty"

    @api.model_create_multi
    def create(self, vals_list):
        programs = super().create(vals_list)
        programs.filtered("ecrm_managed").coupon_ids._ecrm_open_balances()
        return programs

    def write(self, vals):
        res = super().write(vals)
        if {"ecrm_ledger", "program_type"} & set(vals):
            self.filtered("ecrm_managed").coupon_ids._ecrm_open_balances()
        return res
