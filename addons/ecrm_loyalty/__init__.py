from . import controllers, models, wizard


def _ecrm_loyalty_post_init(env):
    """Open the ledger of the loyalty cards that existed before the module: one opening line per card."""
    programs = env["loyalty.program"].with_context(active_test=False).search([("program_type", "=", "loyalty")])
    programs.coupon_ids._ecrm_open_balances()
