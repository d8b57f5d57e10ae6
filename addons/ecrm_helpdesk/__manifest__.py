{
    "name": "eCRM Helpdesk",
    "version": "19.0.1.0.0",
    "summary": "Tickets from email and portal, teams, SLA on working calendars, escalation, satisfaction ratings",
    "description": """
Tickets from the team email aliases, the customer portal, the phone or a web form; teams with
their own stages, working calendar and assignment (manual, round-robin, balanced); SLA policies
in working hours with warnings and escalation; satisfaction ratings; credit notes and goodwill
from a ticket; public FAQ; reports. See README.md for the RPC API.
""",
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
