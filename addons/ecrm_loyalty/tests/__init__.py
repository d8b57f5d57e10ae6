from . import test_security
from . import test_ledger
from . import test_redeem
from . import test_reversal
from . import test_expiry
from . import test_tiers
from . import test_liability
from . import test_performance
