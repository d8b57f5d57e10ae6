# The privacy code of customers is kept apart from res_partner.py, to be read and reviewed as one.
# pylint: disable=consider-merging-classes-inherited
from markupsafe import Markup

from odoo import models
from odoo.fields import Domain

from odoo.addons.ecrm_segments.models.privacy_tools import export_rows, set_columns

TICKET_FIELDS = [
    "number",
    "name",
    "description",
    "partner_name",
    "partner_email",
    "channel",
    "priority",
    "team_id",
    "stage_id",
    "type_id",
    "sale_order_ids",
    "date_open",
    "first_response_date",
    "close_date",
    "sla_status",
    "rating_last_value",
]
MESSAGE_FIELDS = ["date", "res_id", "message_type", "author_id", "subject", "body"]
RATING_FIELDS = ["create_date", "res_id", "rating", "feedback", "consumed"]


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _ecrm_privacy_tickets(self):
        """The customer's tickets: theirs, their contacts', and those written from their email."""
        partners = self._ecrm_privacy_partners()
        emails = [email for email in partners.mapped("email_normalized") if email]
        domain = Domain("partner_id", "in", partners.ids)
        for email in emails:
            domain |= Domain("partner_email", "ilike", email)
        return self.env["ecrm.helpdesk.ticket"].with_context(active_test=False).search(domain, order="id")

    def _ecrm_privacy_export_data(self):
        sections = super()._ecrm_privacy_export_data()
        env = self.env
        tickets = self._ecrm_privacy_tickets()
        messages = env["mail.message"].search(
            [
                ("model", "=", "ecrm.helpdesk.ticket"),
                ("res_id", "in", tickets.ids),
                ("message_type", "in", ("comment", "email", "email_outgoing")),
            ],
            order="date, id",
        )
        ratings = env["rating.rating"].search(
            [("res_model", "=", "ecrm.helpdesk.ticket"), ("res_id", "in", tickets.ids)], order="id"
        )
        message_rows = export_rows(messages, MESSAGE_FIELDS)
        for row, message in zip(message_rows, messages):
            row["internal_note"] = bool(message.subtype_id.internal)
        sections.update(
            {
                "tickets": {"label": env._("Support Tickets"), "rows": export_rows(tickets, TICKET_FIELDS)},
                "ticket_messages": {"label": env._("Ticket Messages"), "rows": message_rows},
                "ticket_ratings": {"label": env._("Satisfaction Ratings"), "rows": export_rows(ratings, RATING_FIELDS)},
            }
        )
        return sections

    def _ecrm_privacy_records(self):
        records = super()._ecrm_privacy_records()
        records["ecrm.helpdesk.ticket"] = self._ecrm_privacy_tickets().ids
        return records

    def _ecrm_privacy_erase_data(self, scrubber):
        """Tickets stay (the service statistics and SLA reports count them) without the
        customer's words and contact details; their ratings keep the score, not the comment."""
        details = super()._ecrm_privacy_erase_data(scrubber)
        env = self.env
        tickets = self._ecrm_privacy_tickets()
        erased = Markup("<p>%s</p>") % env._("Content erased at the customer's request.")
        set_columns(
            env["ecrm.helpdesk.ticket"],
            tickets.ids,
            {"description": erased, "partner_email": None, "partner_name": scrubber.placeholder},
        )
        scrubber.scrub_columns(env["ecrm.helpdesk.ticket"], tickets.ids, ["name"])
        ratings = env["rating.rating"].search(
            [
                "|",
                "&",
                ("res_model", "=", "ecrm.helpdesk.ticket"),
                ("res_id", "in", tickets.ids),
                ("partner_id", "in", self._ecrm_privacy_partners().ids),
            ]
        )
        set_columns(env["rating.rating"], ratings.ids, {"feedback": None})
        scrubber.scrub_columns(env["rating.rating"], ratings.ids, ["res_name", "parent_res_name"])
        details.update({"tickets": len(tickets), "ticket_ratings": len(ratings)})
        return details
