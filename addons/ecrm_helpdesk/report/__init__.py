from . import ecrm_helpdesk_ticket_report
