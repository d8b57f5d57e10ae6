from collections import defaultdict

from odoo import api, fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    ecrm_loyalty_entry = fields.Boolean("Loyalty Points Entry", readonly=True, copy=False, index="btree_not_null")

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        posted.filtered(lambda move: move.move_type == "out_refund")._ecrm_loyalty_refund()
        return posted

    def _ecrm_loyalty_refund(self):
        """A posted credit note takes back, in proportion of the refunded amount, the points its
        orders earned, and gives back the points of the refunded rewards."""
        # sudo: whoever posts the credit note reverses the points, even without access to the orders
        for move in self.sudo():
            refund_lines = move.invoice_line_ids.filtered("sale_line_ids")
            orders = refund_lines.sale_line_ids.order_id
            if not orders:
                continue
            earn_ratio, reward_ratio = {}, {}
            for order in orders:
                sold = order.order_line.filtered(lambda line: not line.is_reward_line and not line.display_type)
                rewards = order.order_line.filtered("is_reward_line")
                refunded = refund_lines.filtered(lambda line, sold=sold: line.sale_line_ids & sold)
                refunded_rewards = refund_lines.filtered(lambda line, rewards=rewards: line.sale_line_ids & rewards)
                base = sum(sold.mapped("price_subtotal"))
                earn_ratio[order] = base and sum(refunded.mapped("price_subtotal")) / base
                reward_base = sum(rewards.mapped("price_subtotal"))
                reward_ratio[order] = reward_base and sum(refunded_rewards.mapped("price_subtotal")) / reward_base
            orders._ecrm_loyalty_reverse(earn_ratio, reward_ratio, f"move:{move.id}", move=move)

    @api.model
    def _ecrm_post_loyalty_entries(self, lines):
        """Defer the value of issued points to the contract liability account and release it to
        revenue on redemption, reversal and expiry (IFRS 15 material right): one balanced entry
        per company, journal and date, one pair of lines per program."""
        programs = lines.program_id.filtered(
            lambda p: (
                p.ecrm_accounting and p.ecrm_journal_id and p.ecrm_liability_account_id and p.ecrm_revenue_account_id
            )
        )
        if not programs:
            return self.browse()
        net = defaultdict(float)
        for line in lines.filtered(lambda line: line.program_id in programs):
            net[
                line.company_id,
                line.program_id.ecrm_journal_id,
                line.date,
                line.program_id,
            ] += line.value
        per_move = defaultdict(list)
        for (company, journal, date, program), value in net.items():
            value = company.currency_id.round(value)
            if company.currency_id.is_zero(value):
                continue
            label = self.env._("Loyalty points: %(program)s", program=program.name)
            # positive: points issued, revenue deferred; negative: released to revenue
            per_move[company, journal, date] += [
                {
                    "name": label,
                    "account_id": program.ecrm_revenue_account_id.id,
                    "debit": max(value, 0),
                    "credit": max(-value, 0),
                },
                {
                    "name": label,
                    "account_id": program.ecrm_liability_account_id.id,
                    "debit": max(-value, 0),
                    "credit": max(value, 0),
                },
            ]
        if not per_move:
            return self.browse()
        # sudo: the entry is the accounting side of a points event done by a sales or loyalty user
        moves = (
            self.sudo()
            .with_company(next(iter(per_move))[0])
            .create(
                [
                    {
                        "move_type": "entry",
                        "company_id": company.id,
                        "journal_id": journal.id,
                        "date": date,
                        "ref": self.env._("Loyalty points"),
                        "ecrm_loyalty_entry": True,
                        "line_ids": [fields.Command.create(vals) for vals in move_lines],
                    }
                    for (company, journal, date), move_lines in per_move.items()
                ]
            )
        )
        moves.action_post()
        return moves
