from . import (
    test_expiry,
    test_ledger,
    test_liability,
    test_performance,
    test_portal,
    test_redeem,
    test_reversal,
    test_security,
    test_tiers,
    test_tour,
)
from . import test_privacy
