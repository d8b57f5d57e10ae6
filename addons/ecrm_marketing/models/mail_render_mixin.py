from odoo import api, models

from .render_helper import EcrmRenderHelper


class MailRenderMixin(models.AbstractModel):
    _inherit = "mail.render.mixin"

    @api.model
    def _render_eval_context(self):
        """Give every template the ``ecrm`` helper (segment, tier, points, recommendations).

        The campaign engine replaces it by a helper computed once for the whole batch.
        """
        render_context = super()._render_eval_context()
        render_context["ecrm"] = EcrmRenderHelper(self.env)
        return render_context
