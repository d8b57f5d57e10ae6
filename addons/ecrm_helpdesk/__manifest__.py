{
    "name": "eCRM Helpdesk",
    "version": "19.0.1.0.0",
    "summary": "Tickets from email and portal, teams, SLA on working calendars, escalation, satisfaction ratings",
    "category": "Sales/CRM",
    "author": "eCRM for Odoo contributors",
    "website": "https://github.com/ecrm-odoo/ecrm",
    "license": "LGPL-3",
    "depends": ["ecrm_segments", "mail", "rating", "portal", "resource"],
    "external_dependencies": {"python": []},
    "data": [
        "security/ecrm_helpdesk_security.xml",
        "security/ir.model.access.csv",
        "data/ecrm_helpdesk_data.xml",
        "data/mail_template_data.xml",
        "views/ecrm_helpdesk_ticket_views.xml",
        "views/ecrm_helpdesk_config_views.xml",
        "report/ecrm_helpdesk_ticket_report_views.xml",
        "views/ecrm_helpdesk_menus.xml",
        "views/portal_templates.xml",
        "views/customer_views.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "ecrm_helpdesk/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
