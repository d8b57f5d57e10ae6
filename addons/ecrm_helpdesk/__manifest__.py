{
    "name": "eCRM Helpdesk",
    "version": "19.0.1.0.0",
    "summary": "Tickets from email and portal, teams, SLA on working calendars, escalation, satisfaction ratings",
    "category": "Sales/CRM",
    "author": "eCRM for Odoo contributors",
    "website": "https://github.com/ecrm-odoo/ecrm",
    "license": "LGPL-3",
    "depends": ["ecrm_segments", "rating", "portal", "resource"],
    "external_dependencies": {"python": []},
    "data": [
        "security/ecrm_helpdesk_security.xml",
        "security/ir.model.access.csv",
    ],
    "installable": True,
}
