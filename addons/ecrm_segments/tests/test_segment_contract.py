from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import EcrmCase


@tagged("post_install", "-at_install", "ecrm")
class TestSegmentContract(EcrmCase):
    """The models sibling addons rely on: segments by code, append-only history, the event hook."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Zhang Wei"})
        cls.segment_a = cls.env["ecrm.segment"].create({"name": "Test A", "code": "test_a"})
        cls.segment_b = cls.env["ecrm.segment"].create(
            {"name": "Test B", "code": "test_b", "company_id": cls.company.id}
        )

    def test_get_by_code(self):
        Segment = self.env["ecrm.segment"]
        self.assertEqual(Segment._get_by_code("test_a"), self.segment_a)
        self.assertEqual(Segment._get_by_code("test_b"), self.segment_b)
        self.assertFalse(Segment._get_by_code("no_such_code"))

    @mute_logger("odoo.sql_db")
    def test_code_unique_per_company(self):
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env["ecrm.segment"].create({"name": "Again", "code": "test_a"})

    def test_history_is_append_only(self):
        history = self.env["ecrm.segment.history"].create(
            {"partner_id": self.partner.id, "segment_from_id": self.segment_a.id, "segment_to_id": self.segment_b.id}
        )
        with self.assertRaises(UserError):
            history.write({"segment_to_id": self.segment_a.id})
        self.assertEqual(history.segment_to_id, self.segment_b)
        with self.assertRaises(AccessError):
            history.with_user(self.ecrm_manager).unlink()

    def test_users_read_managers_edit_segments(self):
        self.assertEqual(self.segment_a.with_user(self.ecrm_user).name, "Test A")
        with self.assertRaises(AccessError):
            self.segment_a.with_user(self.ecrm_user).write({"name": "Renamed"})
        self.segment_a.with_user(self.ecrm_manager).write({"name": "Renamed"})
        self.assertEqual(self.segment_a.name, "Renamed")

    def test_event_hook_is_a_safe_no_op(self):
        self.assertIsNone(
            self.partner._ecrm_notify_event("segments.segment_entered", history=self.env["ecrm.segment.history"])
        )
