from . import test_security
from . import test_segment_contract
