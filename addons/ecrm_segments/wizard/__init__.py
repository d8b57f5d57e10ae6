from . import ecrm_segment_export
