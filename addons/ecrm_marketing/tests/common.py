from odoo.tests import new_test_user

from odoo.addons.ecrm_segments.tests.common import EcrmCase


class EcrmMarketingCase(EcrmCase):
    """Base class of the ecrm_marketing tests: a marketing user and a marketing manager on top of EcrmCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marketing_user = new_test_user(
            cls.env, login="marketing_user", groups="ecrm_marketing.ecrm_marketing_group_user"
        )
        cls.marketing_manager = new_test_user(
            cls.env, login="marketing_manager", groups="ecrm_marketing.ecrm_marketing_group_manager"
        )
