from . import ecrm_segment_export
from . import ecrm_privacy_export
from . import ecrm_privacy_erase
from . import ecrm_segment_export_audit
from . import ecrm_analysis_kpi_export
