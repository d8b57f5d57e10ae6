from . import ecrm_segment
from . import ecrm_segment_history
from . import res_partner
