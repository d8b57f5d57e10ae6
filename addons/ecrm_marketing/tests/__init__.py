from . import test_security
from . import test_campaign_config
from . import test_engine
from . import test_triggers
from . import test_measurement
from . import test_tour
from . import test_reentry
from . import test_sms_tracking
