from odoo import http
from odoo.http import content_disposition, request


class EcrmLoyaltyController(http.Controller):
    @http.route("/ecrm_loyalty/liability/<int:liability_id>/xlsx", type="http", auth="user")
    def liability_xlsx(self, liability_id, **kwargs):
        wizard = request.env["ecrm.loyalty.liability"].browse(liability_id).exists()
        if not wizard:
            raise request.not_found()
        content = wizard._export_xlsx()
        filename = f"loyalty_liability_{wizard.date}.xlsx"
        return request.make_response(
            content,
            headers=[
                (
                    "Content-Type",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                ("Content-Disposition", content_disposition(filename)),
            ],
        )
