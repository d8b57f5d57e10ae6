from . import ecrm_loyalty_liability, loyalty_card_update_balance
