from . import ecrm_helpdesk_stage
from . import ecrm_helpdesk_team
from . import ecrm_helpdesk_type
from . import ecrm_helpdesk_tag
from . import ecrm_helpdesk_sla
from . import ecrm_helpdesk_ticket
from . import ecrm_helpdesk_faq
from . import res_users
