{
    "name": "eCRM Loyalty",
    "version": "19.0.1.0.0",
    "summary": "Points ledger, tiers, redemption, per-award expiry, reversal on cancel and refund, liability report",
    "category": "Sales/CRM",
    "author": "eCRM for Odoo contributors",
    "website": "https://github.com/ecrm-odoo/ecrm",
    "license": "LGPL-3",
    "depends": ["ecrm_segments", "sale_loyalty", "account"],
    "external_dependencies": {"python": ["xlsxwriter"]},
    "data": [
        "security/ecrm_loyalty_security.xml",
        "security/ir.model.access.csv",
        "views/ecrm_loyalty_menus.xml",
    ],
    "installable": True,
}
