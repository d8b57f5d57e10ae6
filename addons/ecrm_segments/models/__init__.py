from . import ecrm_config
from . import ecrm_partner_score
from . import ecrm_segment
from . import ecrm_segment_history
from . import ecrm_segment_movement
from . import ecrm_tag_rule
from . import ecrm_tag_rule_link
from . import res_partner
