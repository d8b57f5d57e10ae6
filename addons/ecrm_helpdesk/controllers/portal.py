from markupsafe import Markup

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request
from odoo.tools import plaintext2html

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

TICKETS_PER_PAGE = 20


class HelpdeskPortal(CustomerPortal):
    """Customer pages: /my/tickets (list, open, create, answer) and the public FAQ /helpdesk/faq."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "ticket_count" in counters:
            Ticket = request.env["ecrm.helpdesk.ticket"]
            values["ticket_count"] = (
                Ticket.search_count(self._prepare_tickets_domain(request.env.user.partner_id))
                if Ticket.has_access("read")
                else 0
            )
        return values

    def _prepare_tickets_domain(self, partner):
        return [("commercial_partner_id", "=", partner.commercial_partner_id.id)]

    def _get_customer_orders(self, partner):
        # the portal user's own env: sale's portal rules apply on top of the domain
        return request.env["sale.order"].search(
            [
                ("partner_id", "child_of", partner.commercial_partner_id.id),
                ("state", "=", "sale"),
            ],
            order="date_order desc",
            limit=50,
        )

    def _search_faq(self, text, limit=5, match_any=False):
        # sudo: public visitors read only published articles, filtered here
        return (
            request.env["ecrm.helpdesk.faq"]
            .sudo()
            ._search_published(text, limit=limit, company=request.env.company, match_any=match_any)
        )

    @http.route(
        ["/my/tickets", "/my/tickets/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_tickets(self, page=1, filterby="all", search=None, **kw):
        partner = request.env.user.partner_id
        Ticket = request.env["ecrm.helpdesk.ticket"]
        domain = self._prepare_tickets_domain(partner)
        filters = {
            "all": {"label": request.env._("All"), "domain": []},
            "open": {
                "label": request.env._("Open"),
                "domain": [("is_closed", "=", False)],
            },
            "closed": {
                "label": request.env._("Closed"),
                "domain": [("is_closed", "=", True)],
            },
        }
        filterby = filterby if filterby in filters else "all"
        domain += filters[filterby]["domain"]
        if search:
            domain += ["|", ("name", "ilike", search), ("number", "ilike", search)]
        count = Ticket.search_count(domain)
        pager = portal_pager(
            url="/my/tickets",
            url_args={"filterby": filterby, "search": search or ""},
            total=count,
            page=page,
            step=TICKETS_PER_PAGE,
        )
        tickets = Ticket.search(domain, order="id desc", limit=TICKETS_PER_PAGE, offset=pager["offset"])
        request.session["my_tickets_history"] = tickets.ids[:100]
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "tickets": tickets.sudo(),  # sudo: show stage and team names the portal cannot read
                "page_name": "ticket",
                "pager": pager,
                "default_url": "/my/tickets",
                "searchbar_filters": filters,
                "filterby": filterby,
                "search": search or "",
            }
        )
        return request.render("ecrm_helpdesk.portal_my_tickets", values)

    @http.route("/my/tickets/<int:ticket_id>", type="http", auth="public", website=True)
    def portal_my_ticket(self, ticket_id, access_token=None, **kw):
        try:
            ticket_sudo = self._document_check_access("ecrm.helpdesk.ticket", ticket_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found()
        values = self._get_page_view_values(
            ticket_sudo,
            access_token,
            {"page_name": "ticket", "ticket": ticket_sudo},
            "my_tickets_history",
            False,
            **kw,
        )
        return request.render("ecrm_helpdesk.portal_my_ticket", values)

    @http.route(
        "/my/tickets/<int:ticket_id>/reply",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_my_ticket_reply(self, ticket_id, access_token=None, message=None, **kw):
        try:
            ticket_sudo = self._document_check_access("ecrm.helpdesk.ticket", ticket_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found()
        if message and message.strip():
            partner = request.env.user.partner_id if not request.env.user._is_public() else ticket_sudo.partner_id
            ticket_sudo.message_post(
                body=plaintext2html(message.strip()),
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        url = ticket_sudo.get_portal_url() if access_token else f"/my/tickets/{ticket_sudo.id}"
        return request.redirect(url)

    def _ticket_form_values(self, **kw):
        partner = request.env.user.partner_id
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "ticket_new",
                "orders": self._get_customer_orders(partner),
                "ticket_types": request.env["ecrm.helpdesk.type"].sudo().search([]),  # sudo: names for the form
                "form": kw,
                "faqs": request.env["ecrm.helpdesk.faq"],
                "errors": {},
            }
        )
        return values

    @http.route("/my/tickets/new", type="http", auth="user", methods=["GET"], website=True)
    def portal_ticket_new(self, **kw):
        return request.render("ecrm_helpdesk.portal_ticket_new", self._ticket_form_values(**kw))

    @http.route("/my/tickets/new", type="http", auth="user", methods=["POST"], website=True)
    def portal_ticket_submit(
        self,
        subject=None,
        description=None,
        order_id=None,
        type_id=None,
        confirm=None,
        **kw,
    ):
        partner = request.env.user.partner_id
        values = self._ticket_form_values(
            subject=subject or "",
            description=description or "",
            order_id=order_id or "",
            type_id=type_id or "",
        )
        errors = values["errors"]
        if not (subject or "").strip():
            errors["subject"] = request.env._("Please tell us what your request is about.")
        order = request.env["sale.order"]
        if order_id:
            order = values["orders"].filtered(lambda o: str(o.id) == str(order_id))
            if not order:
                errors["order_id"] = request.env._("This order is not one of yours.")
        if errors:
            return request.render("ecrm_helpdesk.portal_ticket_new", values)
        if not confirm:
            faqs = self._search_faq(subject, match_any=True)
            if faqs:
                # answers first: the customer may not need a ticket at all
                values["faqs"] = faqs
                return request.render("ecrm_helpdesk.portal_ticket_new", values)
        ticket_type = request.env["ecrm.helpdesk.type"].sudo().browse(int(type_id)).exists() if type_id else None
        # sudo: the order is the customer's own (checked above); portal users cannot read products
        products = order.sudo().order_line.product_id.filtered(lambda product: product.type != "service")
        # sudo: portal users cannot create tickets through the ORM; every value is checked above
        ticket = (
            request.env["ecrm.helpdesk.ticket"]
            .sudo()
            .create(
                {
                    "name": subject.strip(),
                    "description": plaintext2html(description) if description else False,
                    "partner_id": partner.id,
                    "partner_email": partner.email,
                    "channel": "portal",
                    "type_id": ticket_type.id if ticket_type else False,
                    "sale_order_ids": [(6, 0, order.ids)],
                    "product_ids": [(6, 0, products.ids)],
                    "company_id": (order.company_id or request.env.company).id,
                }
            )
        )
        return request.redirect(f"/my/tickets/{ticket.id}")

    @http.route("/helpdesk/faq", type="http", auth="public", website=True, sitemap=True)
    def helpdesk_faq(self, search=None, **kw):
        values = self._prepare_portal_layout_values() if not request.env.user._is_public() else {}
        values.update(
            {
                "faqs": self._search_faq(search, limit=50),
                "search": search or "",
                "page_name": "faq",
                "no_breadcrumbs": request.env.user._is_public(),
                "markup": Markup,
            }
        )
        return request.render("ecrm_helpdesk.helpdesk_faq_page", values)
