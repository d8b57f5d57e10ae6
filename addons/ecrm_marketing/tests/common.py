from contextlib import contextmanager
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user

from odoo.addons.ecrm_segments.tests.common import EcrmCase

# customers who granted marketing consent on every channel (the company requires it by default)
CONSENT = {"ecrm_consent_email": "granted", "ecrm_consent_sms": "granted", "ecrm_consent_webhook": "granted"}


class EcrmMarketingCase(EcrmCase):
    """Base class of the ecrm_marketing tests.

    A marketing user and manager, customers with emails, a welcome template, and
    ``_commit_progress`` made a no-op (tests cannot commit; each engine batch still runs in
    its own savepoint, which is what a commit boundary means for these tests).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marketing_user = new_test_user(
            cls.env, login="marketing_user", groups="ecrm_marketing.ecrm_marketing_group_user"
        )
        cls.marketing_manager = new_test_user(
            cls.env, login="marketing_manager", groups="ecrm_marketing.ecrm_marketing_group_manager"
        )
        IrCron = type(cls.env["ir.cron"])
        cls.startClassPatcher(
            patch.object(IrCron, "_commit_progress", lambda self, processed=0, remaining=None, deactivate=False: 1.0)
        )
        cls.template = cls.env["mail.template"].create(
            {
                "name": "Test welcome",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "subject": "Hello {{ object.name }}",
                "email_from": "shop@example.com",
                "body_html": '<p>Hi <t t-out="object.name"/>, visit <a href="https://shop.example.com/new">our shop</a>'
                ' (<t t-out="ecrm.segment(object)"/>)</p>',
            }
        )
        cls.template_b = cls.template.copy({"name": "Test welcome B", "subject": "Hey {{ object.name }}"})
        cls.sms_template = cls.env["sms.template"].create(
            {
                "name": "Test SMS",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "body": "Hi {{ object.name }}",
            }
        )
        cls.customers = cls.env["res.partner"].create(
            [
                {
                    "name": f"Customer {i}",
                    "email": f"customer{i}@example.com",
                    "customer_rank": 1,
                    "tz": "UTC",
                    **CONSENT,
                }
                for i in range(6)
            ]
        )

    @classmethod
    def create_campaign(cls, steps=None, **values):
        """A campaign with ``steps`` (list of step value dicts; default: one email step now)."""
        steps = steps if steps is not None else [{"name": "Welcome", "mail_template_id": cls.template.id}]
        vals = {"name": "Test campaign", "trigger": "manual", "exit_on_order": False, **values}
        vals["step_ids"] = [(0, 0, {"sequence": 10 * (i + 1), **step}) for i, step in enumerate(steps)]
        return cls.env["ecrm.campaign"].create(vals)

    def run_engine(self, campaigns=None, batch_size=None):
        return self.env["ecrm.campaign.participant"]._advance_due(campaigns=campaigns, batch_size=batch_size)

    def sends(self, campaign, **filters):
        domain = [("campaign_id", "=", campaign.id)] + [(k, "=", v) for k, v in filters.items()]
        return self.env["ecrm.campaign.send"].search(domain)

    def mails(self, campaign):
        return self.env["mail.mail"].sudo().search([("mailing_id", "in", self._mailings(campaign).ids)])

    def _mailings(self, campaign):
        return campaign.step_ids.mailing_id | campaign.step_ids.variant_ids.mailing_id

    @contextmanager
    def at(self, when):
        """Freeze the clock at ``when`` (a datetime or string)."""
        when = fields.Datetime.to_datetime(when)
        with freeze_time(when), patch.object(self.env.cr, "now", lambda: when):
            yield
