from odoo import api, fields, models
from odoo.fields import Domain


class EcrmHelpdeskFaq(models.Model):
    """An answer to a common question, shown on the public FAQ page and before a ticket is submitted."""

    _name = "ecrm.helpdesk.faq"
    _description = "Helpdesk FAQ Article"
    _order = "sequence, id"

    name = fields.Char("Question", required=True, translate=True)
    answer = fields.Html(translate=True, sanitize=True)
    keywords = fields.Char(translate=True, help="Extra words customers may type to find this answer.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    is_published = fields.Boolean("Published", help="Shown on the public FAQ page.")
    team_id = fields.Many2one("ecrm.helpdesk.team", index=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company, index=True)

    @api.model
    def _search_published(self, text=None, limit=None, company=None, match_any=False):
        """Published articles matching the words of ``text`` (in the question, keywords or answer).

        :param str text: what the customer typed (empty: every published article)
        :param int limit: maximum number of articles
        :param bool match_any: match any word of 3 letters or more (suggestions while a customer
            describes a problem) instead of every word (the FAQ search)
        :return: ecrm.helpdesk.faq records
        """
        domain = Domain("is_published", "=", True)
        if company:
            domain &= Domain("company_id", "in", [company.id, False])
        words = [word for word in (text or "").split()[:10] if len(word) >= (3 if match_any else 2)]
        word_domains = [
            Domain("name", "ilike", word) | Domain("keywords", "ilike", word) | Domain("answer", "ilike", word)
            for word in words
        ]
        if word_domains:
            domain &= Domain.OR(word_domains) if match_any else Domain.AND(word_domains)
        elif match_any:
            return self.browse()
        return self.search(domain, limit=limit)

    @api.model
    def search_faq(self, text=None, limit=5):
        """RPC: published FAQ articles matching ``text``.

        :return: list of dicts {id, name, answer}
        """
        return [
            {"id": faq.id, "name": faq.name, "answer": faq.answer or ""}
            for faq in self._search_published(text, limit=limit)
        ]
