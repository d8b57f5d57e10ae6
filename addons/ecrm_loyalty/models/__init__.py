from . import (
    account_move,
    ecrm_loyalty_ledger,
    ecrm_loyalty_lot,
    ecrm_loyalty_tier,
    ecrm_loyalty_tier_history,
    loyalty_card,
    loyalty_program,
    res_company,
    res_config_settings,
    res_partner,
    sale_order,
)
from . import ecrm_loyalty_ledger_audit, ecrm_loyalty_tier_audit, ecrm_loyalty_tier_history_audit, res_partner_privacy
