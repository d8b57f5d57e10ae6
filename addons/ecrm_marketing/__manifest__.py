{
    "name": "eCRM Marketing Automation",
    "version": "19.0.1.1.0",
    "summary": "Automated multi-step campaigns on customer events, sent exactly once, with attribution",
    "category": "Sales/CRM",
    "author": "eCRM for Odoo contributors",
    "website": "https://github.com/ecrm-odoo/ecrm",
    "license": "LGPL-3",
    "depends": ["ecrm_segments", "mass_mailing", "mass_mailing_sms", "sms", "link_tracker"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/ecrm_marketing_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron.xml",
        "data/mail_template_data.xml",
        "views/ecrm_campaign_views.xml",
        "views/ecrm_campaign_participant_views.xml",
        "views/ecrm_marketing_menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "ecrm_marketing/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
