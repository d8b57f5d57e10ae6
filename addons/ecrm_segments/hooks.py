def _ecrm_segments_post_init(env):
    """Customers already on Odoo's blacklists start with their consent withdrawn."""
    env["res.partner"]._ecrm_consent_sync_from_blacklists()
