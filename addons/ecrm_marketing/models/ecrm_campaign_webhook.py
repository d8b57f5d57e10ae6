import logging
from datetime import timedelta

import requests

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class EcrmCampaignWebhook(models.Model):
    """A queued webhook POST of a campaign step (WeChat, app push gateways...).

    Delivered by a scheduled action, one POST per commit so that a crash never posts twice
    what was already acknowledged; failures are retried with an exponential back-off. Each
    payload carries an ``idempotency_key`` (also sent as the ``Idempotency-Key`` header).
    """

    _name = "ecrm.campaign.webhook"
    _description = "Marketing Campaign Webhook Call"
    _order = "id desc"

    send_id = fields.Many2one("ecrm.campaign.send", required=True, ondelete="cascade", index=True)
    campaign_id = fields.Many2one(related="send_id.campaign_id", store=True)
    partner_id = fields.Many2one(related="send_id.partner_id", store=True)
    company_id = fields.Many2one(related="send_id.company_id", store=True)
    url = fields.Char(required=True)
    payload = fields.Json(required=True)
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Delivered"), ("failed", "Failed")],
        default="pending",
        required=True,
        index=True,
    )
    attempts = fields.Integer(default=0)
    next_try = fields.Datetime(default=fields.Datetime.now, index=True)
    last_error = fields.Text(readonly=True)
    response_status = fields.Integer(readonly=True)

    @api.model
    def _cron_send(self, batch_size=50):
        """Scheduled action: POST the pending webhooks that are due, committing after each call."""
        domain = [("state", "=", "pending"), ("next_try", "<=", fields.Datetime.now())]
        cron = self.env["ir.cron"]
        cron._commit_progress(remaining=self.search_count(domain))
        while True:
            calls = self.search(domain, order="next_try, id", limit=batch_size)
            if not calls:
                break
            for call in calls:
                call._post()
                if not cron._commit_progress(1):
                    return

    def _post(self):
        """POST this webhook once; update state, attempts and the next try."""
        self.ensure_one()
        key = (self.payload or {}).get("idempotency_key") or f"ecrm-webhook-{self.id}"
        try:
            response = requests.post(self.url, json=self.payload, timeout=10, headers={"Idempotency-Key": key})
            status = response.status_code
            ok = 200 <= status < 300
            error = False if ok else (response.text or "")[:1000]
        except requests.RequestException as exc:
            status, ok, error = 0, False, str(exc)
        attempts = self.attempts + 1
        if ok:
            self.write({"state": "done", "attempts": attempts, "response_status": status, "last_error": False})
            return True
        _logger.info("Campaign webhook %s failed (attempt %s): %s", self.id, attempts, error)
        self.write(
            {
                "state": "failed" if attempts >= MAX_ATTEMPTS else "pending",
                "attempts": attempts,
                "response_status": status,
                "last_error": error,
                "next_try": fields.Datetime.now() + timedelta(minutes=2**attempts),
            }
        )
        return False

    def action_retry(self):
        """Put failed calls back in the queue."""
        self.write({"state": "pending", "attempts": 0, "next_try": fields.Datetime.now()})
        return True
