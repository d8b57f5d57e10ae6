import io

import openpyxl

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import EcrmCase, EcrmOrdersMixin
from .privacy_common import find_in_database, read_archive

NAME = "Zephyrine Quillfeather"
EMAIL = "zephyrine.quill@privacy-test.example"
PHONE = "+1 202-555-0187"


@tagged("post_install", "-at_install")
class TestPrivacy(EcrmCase, EcrmOrdersMixin):
    """Export and erasure of one customer's personal data (what ecrm_segments holds)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.portal_user = new_test_user(
            cls.env, login=EMAIL, name=NAME, email=EMAIL, groups="base.group_portal", phone=PHONE
        )
        cls.customer = cls.portal_user.partner_id
        cls.customer.write({"street": "12 Quill Lane", "city": "Springfield", "customer_rank": 1})
        cls.delivery = cls.env["res.partner"].create(
            {"name": f"{NAME} (home)", "type": "delivery", "parent_id": cls.customer.id, "street": "3 Feather Road"}
        )
        cls.order = cls.make_order(cls.customer, 120.0, days_ago=10, partner_shipping_id=cls.delivery.id)
        cls.make_order(cls.customer, 80.0, days_ago=3)
        cls.recompute()
        cls.customer.with_context(ecrm_consent_ip="198.51.100.7").ecrm_set_consent(
            "email", True, proof=f"Form signed by {NAME}"
        )
        cls.customer.message_post(body=f"Called {NAME} on {PHONE} about {EMAIL}", message_type="comment")
        cls.order.message_post(body=f"Gift wrap requested by {NAME}", message_type="comment")
        cls.order.message_post(body="Please deliver after 6pm", message_type="comment", author_id=cls.customer.id)

    def test_export_archive_of_the_customer(self):
        result = self.customer.with_user(self.ecrm_manager).ecrm_privacy_export()
        document, xlsx, readme = read_archive(result["content"])
        sections = document["sections"]
        self.assertEqual(document["customer_id"], self.customer.id)
        self.assertTrue(result["file_name"].startswith(f"personal-data-{self.customer.id}-"))
        self.assertEqual(result["sections"], sorted(sections))
        for key in (
            "profile",
            "addresses",
            "consent",
            "consent_history",
            "orders",
            "order_lines",
            "scores",
            "messages",
        ):
            with self.subTest(section=key):
                self.assertTrue(sections[key]["rows"], f"{key} is empty")
                self.assertTrue(sections[key]["label"])
        [profile] = sections["profile"]["rows"]
        self.assertEqual((profile["name"], profile["email"], profile["phone"]), (NAME, EMAIL, PHONE))
        self.assertEqual(profile["ecrm_consent_email"], "Granted")
        self.assertEqual([row["street"] for row in sections["addresses"]["rows"]], ["3 Feather Road"])
        self.assertEqual(
            sorted(row["name"] for row in sections["orders"]["rows"]),
            sorted(self.customer.sale_order_ids.mapped("name")),
        )
        [score] = sections["scores"]["rows"]
        self.assertEqual(score["frequency"], 2)
        self.assertIn("churn_risk", score)
        self.assertEqual(sections["consent_history"]["rows"][0]["ip_address"], "198.51.100.7")
        self.assertTrue(any(PHONE in row["body"] for row in sections["messages"]["rows"]))
        self.assertIn("personal_data.json", readme)
        workbook = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
        self.assertEqual(len(workbook.sheetnames), len(sections))
        profile_sheet = workbook[sections["profile"]["label"]]
        header, values = list(profile_sheet.iter_rows(values_only=True))[:2]
        self.assertEqual(dict(zip(header, values))["email"], EMAIL)
        [audit] = self.env["ecrm.audit.log"].search([("action", "=", "export"), ("res_id", "=", self.customer.id)])
        self.assertEqual((audit.user_id, audit.note), (self.ecrm_manager, "back_office"))

    def test_export_wizard_and_rights(self):
        wizard = self.env["ecrm.privacy.export"].with_user(self.ecrm_manager).create({"partner_id": self.customer.id})
        wizard.action_export()
        self.assertTrue(wizard.file_data and wizard.file_name.endswith(".zip"))
        self.assertGreater(wizard.row_count, 8)
        with self.assertRaises(AccessError):
            self.customer.with_user(self.ecrm_user).ecrm_privacy_export()
        with self.assertRaises(AccessError):
            self.customer.with_user(self.ecrm_user).action_ecrm_privacy_export()

    def test_erase_refuses_without_rights_or_confirmation(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.ecrm_user).ecrm_privacy_erase(NAME)
        with self.assertRaisesRegex(UserError, "exactly"):
            self.customer.with_user(self.ecrm_manager).ecrm_privacy_erase("Zephyrine")
        self.assertEqual(self.customer.name, NAME)
        self.assertFalse(
            self.env["ecrm.audit.log"].search([("action", "=", "erase"), ("res_id", "=", self.customer.id)])
        )
        with self.assertRaisesRegex(UserError, "user of the back office"):
            self.ecrm_user.partner_id.with_user(self.ecrm_manager).ecrm_privacy_erase(self.ecrm_user.partner_id.name)

    def test_erase_leaves_no_trace_and_keeps_the_orders(self):
        orders = self.customer.sale_order_ids
        sanitized = self.customer.phone_sanitized
        consent_logs = self.customer.ecrm_consent_log_ids
        self.assertTrue(find_in_database(self.env.cr, [NAME]), "the search finds the customer before the erasure")
        wizard = self.env["ecrm.privacy.erase"].with_user(self.ecrm_manager).create({"partner_id": self.customer.id})
        self.assertEqual(wizard.order_count, 2)
        wizard.confirmation = NAME.lower()
        wizard.action_erase()
        self.assertIn("contacts: 2", wizard.result)
        self.env.flush_all()
        self.assertEqual(find_in_database(self.env.cr, [NAME, EMAIL, PHONE, sanitized]), [])
        # what accounting needs stays, linked to the anonymised customer
        self.assertEqual(orders.exists(), orders)
        self.assertEqual(orders.partner_id, self.customer)
        self.assertEqual(self.customer.name, f"Erased customer {self.customer.id}")
        self.assertFalse(self.customer.active or self.customer.email or self.customer.phone or self.customer.street)
        self.assertTrue(self.customer.ecrm_erased_date)
        self.assertFalse(self.portal_user.active)
        self.assertEqual(consent_logs.exists(), consent_logs, "the consent history stays")
        self.assertFalse(consent_logs.filtered("ip_address"))
        [audit] = self.env["ecrm.audit.log"].search([("action", "=", "erase"), ("res_id", "=", self.customer.id)])
        self.assertEqual(audit.user_id, self.ecrm_manager)
        privacy_log = self.env["privacy.log"].search([], order="id desc", limit=1)
        self.assertTrue(privacy_log.anonymized_name.startswith("Z*"))
        self.assertIn("res.partner", privacy_log.records_description)
        with self.assertRaisesRegex(UserError, "erased already"):
            self.customer.with_user(self.ecrm_manager).ecrm_privacy_erase(self.customer.name)

    def test_sensitive_scores_are_for_ecrm_users(self):
        self.assertTrue(self.customer.with_user(self.ecrm_user).ecrm_churn_risk >= 0)
        for fname in ("ecrm_clv_predicted", "ecrm_churn_risk", "ecrm_value_at_stake", "ecrm_p_alive"):
            with self.subTest(field=fname), self.assertRaises(AccessError):
                self.customer.with_user(self.plain_user).read([fname])
        self.assertNotIn("ecrm_clv_predicted", self.env["res.partner"].with_user(self.plain_user).fields_get())
