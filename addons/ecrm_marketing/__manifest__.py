{
    "name": "eCRM Marketing Automation",
    "version": "19.0.1.0.0",
    "summary": "Automated multi-step campaigns on customer events, sent exactly once, with attribution",
    "category": "Sales/CRM",
    "author": "eCRM for Odoo contributors",
    "website": "https://github.com/ecrm-odoo/ecrm",
    "license": "LGPL-3",
    "depends": ["ecrm_segments", "mass_mailing", "sms", "link_tracker"],
    "external_dependencies": {"python": []},
    "data": [
        "security/ecrm_marketing_security.xml",
        "security/ir.model.access.csv",
        "views/ecrm_marketing_menus.xml",
    ],
    "installable": True,
}
