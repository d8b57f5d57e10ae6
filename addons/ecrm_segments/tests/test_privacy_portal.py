import io
import json
import zipfile

from odoo.http import Request
from odoo.tests import HttpCase, new_test_user, tagged

from .privacy_common import read_archive


@tagged("post_install", "-at_install")
class TestPrivacyPortal(HttpCase):
    """The customer's own privacy page: consent checkboxes, "Download my data", double opt-in link."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = new_test_user(
            cls.env,
            login="privacy_portal",
            password="privacy_portal_pw",
            name="Ren Portal",
            email="ren.portal@example.com",
            groups="base.group_portal",
        )
        cls.customer = cls.portal.partner_id
        cls.other = cls.env["res.partner"].create({"name": "Someone Else", "email": "else@example.com"})
        product = cls.env["product.product"].create({"name": "Portal Teapot", "list_price": 25})
        cls.order = cls.env["sale.order"].create(
            {"partner_id": cls.customer.id, "order_line": [(0, 0, {"product_id": product.id})]}
        )
        cls.order.action_confirm()
        cls.env["sale.order"].create({"partner_id": cls.other.id, "order_line": [(0, 0, {"product_id": product.id})]})

    def audit(self, action):
        return self.env["ecrm.audit.log"].search(
            [("action", "=", action), ("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id)]
        )

    def test_portal_customer_downloads_their_data_in_the_browser(self):
        self.start_tour("/my", "ecrm_privacy_portal_tour", login="privacy_portal")
        self.assertEqual(self.customer.ecrm_consent_email, "granted")
        [log] = self.customer.ecrm_consent_log_ids
        self.assertEqual((log.source, log.user_id), ("portal", self.portal))
        self.assertIn("I agree to receive news and offers", log.proof)
        self.assertTrue(log.ip_address and log.user_agent)
        exports = self.audit("export")
        self.assertGreaterEqual(len(exports), 1)
        self.assertEqual(set(exports.mapped("note")), {"portal"})
        self.assertEqual(exports.user_id, self.portal)

    def test_download_holds_only_the_customer_own_data(self):
        self.authenticate("privacy_portal", "privacy_portal_pw")
        response = self.url_open("/my/privacy/export", data={"csrf_token": Request.csrf_token(self)})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/zip")
        self.assertIn("attachment", response.headers["Content-Disposition"])
        document = read_archive(response.content)[0]
        self.assertEqual(document["customer_id"], self.customer.id)
        self.assertEqual([row["name"] for row in document["sections"]["orders"]["rows"]], [self.order.name])
        self.assertNotIn("Someone Else", json.dumps(document))
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            self.assertTrue(archive.read("personal_data.xlsx").startswith(b"PK"))
        # the account page offers the same button
        page = self.url_open("/my/account")
        self.assertIn("o_ecrm_privacy_download", page.text)

    def test_download_needs_a_login_and_the_form_token(self):
        response = self.url_open("/my/privacy/export", data={"csrf_token": "x"}, allow_redirects=False)
        self.assertIn(response.status_code, (303, 400))
        self.assertNotEqual(response.headers.get("Content-Type"), "application/zip")
        self.authenticate("privacy_portal", "privacy_portal_pw")
        response = self.url_open("/my/privacy/export", data={"csrf_token": "forged"})
        self.assertNotEqual(response.headers.get("Content-Type"), "application/zip")
        self.assertFalse(self.audit("export"))

    def test_withdraw_from_the_portal(self):
        self.customer.ecrm_set_consent("sms", True, source="back_office")
        self.authenticate("privacy_portal", "privacy_portal_pw")
        page = self.url_open("/my/privacy")
        self.assertIn('name="consent_sms"', page.text)
        # the form comes back with e-mail ticked and SMS unticked
        self.url_open("/my/privacy/consent", data={"csrf_token": Request.csrf_token(self), "consent_email": "1"})
        self.assertEqual((self.customer.ecrm_consent_email, self.customer.ecrm_consent_sms), ("granted", "withdrawn"))
        self.assertEqual(
            self.customer.ecrm_consent_webhook, "unknown", "an unticked channel never asked stays unrecorded"
        )

    def test_double_opt_in_link(self):
        [request_id] = self.customer.ecrm_request_consent("email")
        request = self.env["ecrm.consent.log"].browse(request_id)
        token = self.env["res.partner"]._ecrm_consent_token(request)
        url = f"/ecrm/consent/{request.id}/{token}"
        self.authenticate(None, None)  # the customer opens the email, not logged in
        # opening the link (or a mail scanner prefetching it) only shows the question
        page = self.url_open(url)
        self.assertIn("o_ecrm_consent_confirm_button", page.text)
        self.assertEqual(self.customer.ecrm_consent_email, "pending")
        page = self.url_open(f"/ecrm/consent/{request.id}/{token[:-2]}xx")
        self.assertIn("not valid", page.text)
        page = self.url_open(url, data={"csrf_token": Request.csrf_token(self)})
        self.assertIn("o_ecrm_consent_confirmed", page.text)
        self.assertEqual(self.customer.ecrm_consent_email, "granted")
        granted = self.customer.ecrm_consent_log_ids.filtered(lambda log: log.state == "granted")
        self.assertEqual(
            (granted.source, granted.request_id, granted.ip_address), ("double_opt_in", request, "127.0.0.1")
        )
