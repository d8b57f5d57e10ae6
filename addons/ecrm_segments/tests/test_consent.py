from datetime import timedelta

import psycopg2
from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import SQL, mute_logger

from .common import EcrmCase


@tagged("post_install", "-at_install")
class TestConsent(EcrmCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # recording a choice edits the customer: eCRM users with the Contact Creation right
        cls.consent_user = new_test_user(
            cls.env, login="ecrm_consent_user", groups="ecrm_segments.ecrm_group_user,base.group_partner_manager"
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Mei Consent", "email": "mei.consent@example.com", "phone": "+1 202-555-0143", "customer_rank": 1}
        )

    def logs(self, partner=None, channel=None):
        logs = (partner or self.customer).ecrm_consent_log_ids.sorted(lambda log: (log.date, log.id))
        return logs.filtered(lambda log: log.channel == channel) if channel else logs

    def test_new_customer_has_no_consent(self):
        self.assertEqual(
            (self.customer.ecrm_consent_email, self.customer.ecrm_consent_sms, self.customer.ecrm_consent_webhook),
            ("unknown", "unknown", "unknown"),
        )
        self.assertFalse(self.customer.ecrm_consent_log_ids)
        self.assertEqual(
            self.customer.ecrm_get_consent()["email"],
            {"state": "unknown", "source": False, "date": False, "proof": False},
        )

    def test_form_change_is_recorded_with_source_proof_user_and_audit(self):
        with Form(self.customer.with_user(self.consent_user)) as form:
            form.ecrm_consent_email = "granted"
            form.ecrm_consent_note = "Signed form at the shop counter"
        [log] = self.logs()
        self.assertEqual(
            (log.channel, log.previous_state, log.state, log.source, log.proof, log.user_id),
            ("email", "unknown", "granted", "back_office", "Signed form at the shop counter", self.consent_user),
        )
        audit = self.env["ecrm.audit.log"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id), ("action", "=", "consent")]
        )
        self.assertEqual(
            [(a.field_name, a.old_value, a.new_value, a.user_id) for a in audit],
            [("ecrm_consent_email", "unknown", "granted", self.consent_user)],
        )
        # saving again without a change records nothing
        self.customer.with_user(self.consent_user).write({"ecrm_consent_email": "granted"})
        self.assertEqual(len(self.logs()), 1)

    def test_import_records_the_import_as_source(self):
        result = (
            self.env["res.partner"]
            .with_context(import_file=True)
            .load(
                ["name", "email", "ecrm_consent_email", "ecrm_consent_sms", "ecrm_consent_note"],
                [["Imported Li", "li.import@example.com", "granted", "withdrawn", "newsletter-2025.csv row 12"]],
            )
        )
        self.assertFalse(result["messages"], result["messages"])
        partner = self.env["res.partner"].browse(result["ids"])
        self.assertEqual(
            [(log.channel, log.state, log.source, log.proof) for log in self.logs(partner)],
            [
                ("email", "granted", "import", "newsletter-2025.csv row 12"),
                ("sms", "withdrawn", "import", "newsletter-2025.csv row 12"),
            ],
        )

    def test_rpc_set_and_get_consent(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.ecrm_user).ecrm_set_consent("sms", True)
        self.customer.with_user(self.consent_user).ecrm_set_consent("sms", True, proof="Storefront checkbox, order S42")
        consent = self.customer.ecrm_get_consent()
        self.assertEqual(consent["sms"]["state"], "granted")
        self.assertEqual(consent["sms"]["source"], "api")
        self.assertEqual(consent["sms"]["proof"], "Storefront checkbox, order S42")
        self.assertEqual(consent["email"]["state"], "unknown")
        with self.assertRaisesRegex(ValidationError, "Unknown consent channel"):
            self.customer.ecrm_set_consent("fax", True)
        with self.assertRaisesRegex(ValidationError, "Unknown consent source"):
            self.customer.ecrm_set_consent("email", True, source="portal")
        self.assertEqual(len(self.logs()), 1, "refused calls change nothing")

    def test_pending_and_clearing_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "confirmation request"):
            self.customer.ecrm_consent_email = "pending"
        self.customer.ecrm_consent_email = "granted"
        with self.assertRaisesRegex(ValidationError, "withdraw it instead"):
            self.customer.ecrm_consent_email = "unknown"
        self.assertEqual(self.customer.ecrm_consent_email, "granted")

    def test_email_withdrawal_blacklists_and_grant_unblacklists(self):
        Blacklist = self.env["mail.blacklist"].with_context(active_test=False)
        self.customer.ecrm_set_consent("email", False, proof="Asked on the phone")
        entry = Blacklist.search([("email", "=", "mei.consent@example.com")])
        self.assertTrue(entry.active)
        self.assertTrue(self.customer.is_blacklisted)
        self.customer.ecrm_set_consent("email", True, proof="Changed her mind")
        self.assertFalse(entry.active)
        self.customer.invalidate_recordset(["is_blacklisted"])
        self.assertFalse(self.customer.is_blacklisted)
        self.assertEqual([log.state for log in self.logs(channel="email")], ["withdrawn", "granted"])

    def test_blacklisting_an_address_withdraws_email_consent(self):
        """The unsubscribe link of a mailing (or a user) blacklists the address."""
        self.customer.ecrm_consent_email = "granted"
        twin = self.env["res.partner"].create({"name": "Same Address", "email": "MEI.consent@example.com"})
        self.env["mail.blacklist"]._add("mei.consent@example.com", message="Unsubscribed")
        self.assertEqual(self.customer.ecrm_consent_email, "withdrawn")
        self.assertEqual(twin.ecrm_consent_email, "withdrawn")
        self.assertEqual(self.logs(channel="email")[-1].source, "unsubscribe")

    def test_sms_withdrawal_and_phone_blacklist(self):
        self.customer.ecrm_set_consent("sms", False)
        self.assertTrue(self.customer.phone_blacklisted)
        self.customer.ecrm_set_consent("sms", True)
        self.customer.invalidate_recordset(["phone_blacklisted"])
        self.assertFalse(self.customer.phone_blacklisted)
        self.env["phone.blacklist"]._add([self.customer.phone_sanitized], message="STOP")
        self.assertEqual(self.customer.ecrm_consent_sms, "withdrawn")

    def test_double_opt_in_request_and_confirmation(self):
        Partner = self.env["res.partner"]
        [request_id] = self.customer.with_user(self.ecrm_user).ecrm_request_consent("email")
        request = self.env["ecrm.consent.log"].browse(request_id)
        self.assertEqual(self.customer.ecrm_consent_email, "pending")
        self.assertEqual((request.state, request.source), ("pending", "double_opt_in"))
        self.assertAlmostEqual(request.expiry_date, request.date + timedelta(days=7), delta=timedelta(seconds=2))
        token = Partner._ecrm_consent_token(request)
        mail = self.env["mail.mail"].sudo().search([("model", "=", "res.partner"), ("res_id", "=", self.customer.id)])
        self.assertIn(f"/ecrm/consent/{request.id}/{token}", mail.body_html)
        self.assertEqual(mail.recipient_ids, self.customer)
        with self.assertRaisesRegex(UserError, "not valid"):
            Partner._ecrm_consent_confirm(request.id, token[:-1] + ("1" if token[-1] == "0" else "0"))
        self.assertEqual(self.customer.ecrm_consent_email, "pending")
        self.assertEqual(Partner._ecrm_consent_confirm(request.id, token, "203.0.113.9", "Firefox"), "confirmed")
        granted = self.logs()[-1]
        self.assertEqual(
            (granted.state, granted.source, granted.request_id, granted.ip_address, granted.user_agent),
            ("granted", "double_opt_in", request, "203.0.113.9", "Firefox"),
        )
        self.assertIn(f"request #{request.id}", granted.proof)
        self.assertEqual(self.customer.ecrm_consent_email, "granted")
        # the same link again changes nothing
        self.assertEqual(Partner._ecrm_consent_confirm(request.id, token), "already")
        self.assertEqual(len(self.logs()), 2)
        with self.assertRaisesRegex(UserError, "already granted"):
            self.customer.ecrm_request_consent("email")

    def test_double_opt_in_expired_replaced_or_withdrawn(self):
        Partner = self.env["res.partner"]
        [first] = self.customer.ecrm_request_consent()
        [second] = self.customer.ecrm_request_consent()
        first, second = self.env["ecrm.consent.log"].browse([first, second])
        with self.assertRaisesRegex(UserError, "replaced by a newer one"):
            Partner._ecrm_consent_confirm(first.id, Partner._ecrm_consent_token(first))
        with freeze_time(fields.Datetime.now() + timedelta(days=8)):
            self.assertEqual(Partner._ecrm_consent_confirm(second.id, Partner._ecrm_consent_token(second)), "expired")
        self.assertEqual(self.customer.ecrm_consent_email, "pending")
        self.customer.ecrm_set_consent("email", False)
        with self.assertRaisesRegex(UserError, "changed since"):
            Partner._ecrm_consent_confirm(second.id, Partner._ecrm_consent_token(second))
        with self.assertRaisesRegex(UserError, "by email only"):
            self.customer.ecrm_request_consent("sms")

    def test_history_is_append_only(self):
        self.customer.ecrm_consent_email = "granted"
        log = self.logs()
        with self.assertRaisesRegex(UserError, "append-only"):
            log.write({"state": "withdrawn"})
        with self.assertRaisesRegex(UserError, "append-only"):
            log.unlink()
        with self.assertRaisesRegex(UserError, "not written directly"):
            self.env["ecrm.consent.log"].create(
                {"partner_id": self.customer.id, "channel": "sms", "state": "granted", "source": "api"}
            )
        self.env.flush_all()
        for statement in (
            SQL("UPDATE ecrm_consent_log SET state = 'withdrawn' WHERE id = %s", log.id),
            SQL("DELETE FROM ecrm_consent_log WHERE id = %s", log.id),
        ):
            with self.subTest(statement=statement.code), mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.Error):
                with self.env.cr.savepoint():
                    self.env.cr.execute(statement)
        # the erasure window blanks the proof only: any other column stays refused
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.Error), self.env.cr.savepoint():
            self.env.cr.execute(SQL("SELECT set_config('ecrm_segments.privacy_erasure', 'on', true)"))
            self.env.cr.execute(
                SQL("UPDATE ecrm_consent_log SET state = 'withdrawn', proof = NULL WHERE id = %s", log.id)
            )
        self.env.cr.execute(SQL("SELECT state FROM ecrm_consent_log WHERE id = %s", log.id))
        self.assertEqual(self.env.cr.fetchone()[0], "granted")

    def test_history_goes_with_a_deleted_customer(self):
        prospect = self.env["res.partner"].create({"name": "Typo Contact", "ecrm_consent_email": "granted"})
        log_ids = prospect.ecrm_consent_log_ids.ids
        prospect.unlink()
        self.assertFalse(self.env["ecrm.consent.log"].browse(log_ids).exists())

    def test_readers(self):
        self.customer.ecrm_consent_email = "granted"
        self.assertEqual(len(self.customer.with_user(self.ecrm_user).ecrm_consent_log_ids), 1)
        with self.assertRaises(AccessError):
            self.env["ecrm.consent.log"].with_user(self.plain_user).search([])

    def test_privacy_settings_are_audited(self):
        config = self.env["ecrm.config"]._get_for_company()
        self.assertTrue(self.env.company.ecrm_consent_required, "explicit consent is the default")
        config.with_user(self.ecrm_manager).consent_required = False
        self.assertFalse(self.env.company.ecrm_consent_required)
        audit = self.env["ecrm.audit.log"].search(
            [("res_model", "=", "ecrm.config"), ("field_name", "=", "consent_required")]
        )
        self.assertEqual((audit.old_value, audit.new_value, audit.user_id), ("Yes", "No", self.ecrm_manager))
