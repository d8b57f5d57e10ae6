from odoo.tests import new_test_user

from odoo.addons.ecrm_segments.tests.common import EcrmCase


class EcrmLoyaltyCase(EcrmCase):
    """Base class of the ecrm_loyalty tests: a loyalty user and a loyalty manager on top of EcrmCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.loyalty_user = new_test_user(cls.env, login="loyalty_user", groups="ecrm_loyalty.ecrm_loyalty_group_user")
        cls.loyalty_manager = new_test_user(
            cls.env, login="loyalty_manager", groups="ecrm_loyalty.ecrm_loyalty_group_manager"
        )
