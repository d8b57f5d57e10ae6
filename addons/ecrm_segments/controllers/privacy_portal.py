from odoo import fields
from odoo.exceptions import UserError
from odoo.http import content_disposition, request, route

from odoo.addons.portal.controllers.portal import CustomerPortal

from ..models.privacy_tools import archive_file_name


class EcrmPrivacyPortal(CustomerPortal):
    """The customer's privacy page (/my/privacy): marketing consent per channel, the history
    of their choices and "Download my data"; and the double opt-in confirmation link."""

    def _ecrm_privacy_values(self, partner, **extra):
        # sudo: the customer reads their own consent history (no access rule on it for portal users)
        history = partner.sudo().ecrm_consent_log_ids.sorted(lambda log: (log.date, log.id), reverse=True)[:20]
        return {
            **self._prepare_portal_layout_values(),
            "page_name": "ecrm_privacy",
            "partner": partner,
            "channels": partner._ecrm_consent_channels(),
            "consent_history": history,
            **extra,
        }

    @route("/my/privacy", type="http", auth="user", website=True, methods=["GET"])
    def ecrm_privacy(self, **kw):
        partner = request.env.user.partner_id  # env.user is always sudoed: the customer's own partner
        return request.render(
            "ecrm_segments.portal_my_ecrm_privacy", self._ecrm_privacy_values(partner, saved=kw.get("saved"))
        )

    @route("/my/privacy/consent", type="http", auth="user", website=True, methods=["POST"])
    def ecrm_privacy_consent(self, **post):
        """Save the consent checkboxes: each checked channel is granted, each unchecked one
        that was granted is withdrawn; the page's wording is kept as the proof."""
        partner = request.env.user.partner_id
        if request.env.user._is_public():
            return request.redirect("/web/login?redirect=/my/privacy")
        # the wording the customer agreed to, as the page shows it in their language
        proof_text = request.env._(
            "I agree to receive news and offers from the shop on the channels I tick. I can withdraw at any time."
        )
        changed = False
        for channel, _label, fname in partner._ecrm_consent_channels():
            wanted = bool(post.get(f"consent_{channel}"))
            current = partner[fname]
            if wanted == (current == "granted") or (not wanted and current in ("unknown", "pending")):
                continue
            partner.sudo().with_context(
                ecrm_consent_source="portal",
                ecrm_consent_proof=request.env._(
                    "Checkbox on the customer portal (%(page)s): %(text)s", page="/my/privacy", text=proof_text
                ),
                ecrm_consent_ip=request.httprequest.remote_addr,
                ecrm_consent_user_agent=request.httprequest.user_agent.string,
            ).write({fname: "granted" if wanted else "withdrawn"})
            changed = True
        return request.redirect("/my/privacy?saved=%s" % ("1" if changed else "0"))

    @route("/my/privacy/export", type="http", auth="user", website=True, methods=["POST"])
    def ecrm_privacy_export(self, **post):
        """Download my data: the zip of everything the shop's eCRM holds about the customer."""
        if request.env.user._is_public():
            return request.redirect("/web/login?redirect=/my/privacy")
        partner = request.env.user.partner_id
        content, _sections = partner._ecrm_privacy_build_archive(channel="portal")
        file_name = archive_file_name(partner.id, fields.Date.context_today(partner))
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "application/zip"),
                ("Content-Length", len(content)),
                ("Content-Disposition", content_disposition(file_name)),
                ("Cache-Control", "no-store"),
            ],
        )

    @route("/ecrm/consent/<int:request_id>/<string:token>", type="http", auth="public", website=True, methods=["GET"])
    def ecrm_consent_confirm_page(self, request_id, token, **kw):
        """The link of the double opt-in email: show what the customer confirms (a prefetch of
        the link by a mail scanner must not confirm anything)."""
        consent_request = request.env["res.partner"]._ecrm_consent_find_request(request_id, token)
        return request.render(
            "ecrm_segments.ecrm_consent_confirm_page",
            {"consent_request": consent_request, "token": token, "state": "ask" if consent_request else "invalid"},
        )

    @route("/ecrm/consent/<int:request_id>/<string:token>", type="http", auth="public", website=True, methods=["POST"])
    def ecrm_consent_confirm(self, request_id, token, **post):
        try:
            state = request.env["res.partner"]._ecrm_consent_confirm(
                request_id,
                token,
                ip_address=request.httprequest.remote_addr,
                user_agent=request.httprequest.user_agent.string,
            )
        except UserError:
            state = "invalid"
        return request.render("ecrm_segments.ecrm_consent_confirm_page", {"consent_request": False, "state": state})
