{
    "name": "eCRM Customer Segments",
    "version": "19.0.1.0.0",
    "summary": "Customer 360 view, tag rules, RFM scores, segments, lifetime value and churn risk",
    "category": "Sales/CRM",
    "author": "eCRM for Odoo contributors",
    "website": "https://github.com/ecrm-odoo/ecrm",
    "license": "LGPL-3",
    "depends": ["sale_management", "mail"],
    "external_dependencies": {"python": ["pandas", "xlsxwriter"]},
    "data": [
        "security/ecrm_security.xml",
        "security/ir.model.access.csv",
        "views/ecrm_menus.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "ecrm_segments/static/tests/tours/*.js",
        ],
    },
    "application": True,
    "installable": True,
}
