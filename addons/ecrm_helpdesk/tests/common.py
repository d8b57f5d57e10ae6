from odoo.tests import new_test_user

from odoo.addons.ecrm_segments.tests.common import EcrmCase


class EcrmHelpdeskCase(EcrmCase):
    """Base class of the ecrm_helpdesk tests: a helpdesk user and a helpdesk manager on top of EcrmCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.helpdesk_user = new_test_user(
            cls.env, login="helpdesk_user", groups="ecrm_helpdesk.ecrm_helpdesk_group_user"
        )
        cls.helpdesk_manager = new_test_user(
            cls.env, login="helpdesk_manager", groups="ecrm_helpdesk.ecrm_helpdesk_group_manager"
        )
