from . import ecrm_campaign_funnel
