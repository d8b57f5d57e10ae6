import logging

from odoo.tests import tagged

from .common import EcrmLoyaltyCase

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install", "ecrm")
class TestLoyaltyQueryCount(EcrmLoyaltyCase):
    """The ledger, tier and pending logic adds a bounded, batch-independent number of queries to
    Odoo's own confirmation of orders with an active loyalty program."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the default tiers take part: the tier logic is measured too
        cls.env["ecrm.loyalty.tier"].with_context(active_test=False).search([]).write({"active": True})

    def _prepare(self, count):
        partners = self.env["res.partner"].create([{"name": f"Perf {i}"} for i in range(count)])
        self.env["loyalty.card"].create([{"program_id": self.program.id, "partner_id": p.id} for p in partners])
        orders = self.env["sale.order"]
        for partner in partners:
            orders |= self._order(partner)
        return orders

    def _count(self, orders):
        self.env.flush_all()
        self.env.invalidate_all()
        start = self.cr.sql_log_count
        orders.action_confirm()
        self.env.flush_all()
        return self.cr.sql_log_count - start

    def _measure(self, count):
        """(archived program, Odoo loyalty without the ledger, with the ledger) query counts."""
        self.program.ecrm_ledger = True
        self._count(self._prepare(1))  # warm-up
        self.program.action_archive()
        archived = self._count(self._prepare(count))
        self.program.action_unarchive()
        self.program.ecrm_ledger = False
        odoo = self._count(self._prepare(count))
        self.program.ecrm_ledger = True
        ledger = self._count(self._prepare(count))
        _logger.info(
            "confirming %s order(s): archived %s, Odoo loyalty %s, with ledger %s queries",
            count,
            archived,
            odoo,
            ledger,
        )
        self.assertGreater(odoo, archived, "the active program makes Odoo work")
        return archived, odoo, ledger

    def test_confirm_one_order(self):
        _archived, odoo, ledger = self._measure(1)
        self.assertLessEqual(ledger - odoo, 10)
        orders = self._prepare(1)
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(odoo + 10):
            orders.action_confirm()
            self.env.flush_all()
        self.assertEqual(len(orders.ecrm_loyalty_line_ids), 1)

    def test_confirm_batch_constant_overhead(self):
        _archived, odoo_one, ledger_one = self._measure(1)
        _archived, odoo_batch, ledger_batch = self._measure(8)
        # the extra queries do not grow with the batch
        self.assertLessEqual(ledger_batch - odoo_batch, 10)
        self.assertLessEqual(ledger_batch - odoo_batch, ledger_one - odoo_one + 2)
