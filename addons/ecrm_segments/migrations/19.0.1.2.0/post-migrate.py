"""Consent per channel arrives: customers already on Odoo's blacklists start withdrawn."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    api.Environment(cr, SUPERUSER_ID, {})["res.partner"]._ecrm_consent_sync_from_blacklists()
