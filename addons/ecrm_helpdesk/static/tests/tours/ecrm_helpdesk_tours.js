import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("ecrm_helpdesk_portal_ticket_tour", {
    steps: () => [
        {
            content: "The order chosen from the portal is selected",
            trigger: "select[name=order_id]:has(option:selected:contains(S0))",
        },
        {
            content: "Describe the problem",
            trigger: "input[name=subject]",
            run: "edit My scarf is torn",
        },
        {
            content: "Add details",
            trigger: "textarea[name=description]",
            run: "edit It tore the first time I wore it.",
        },
        {
            content: "Submit the ticket",
            trigger: "button.o_ecrm_ticket_submit",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Matching FAQ answers are shown before the ticket is created",
            trigger: ".o_ecrm_faq_suggestions:contains(How do I return a scarf?)",
        },
        {
            content: "Still submit the ticket",
            trigger: "button.o_ecrm_ticket_submit",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The ticket page opens",
            trigger: ".o_ecrm_ticket_page .o_ecrm_ticket_subject:contains(My scarf is torn)",
        },
        {
            content: "It is linked to the order",
            trigger: ".o_ecrm_ticket_page .o_ecrm_ticket_order:contains(S0)",
        },
    ],
});

registry.category("web_tour.tours").add("ecrm_helpdesk_agent_answer_tour", {
    steps: () => [
        {
            content: "The ticket form is open",
            trigger: ".o_form_view .o_field_widget[name=name] input:value(My scarf is torn)",
        },
        {
            content: "Answer the customer",
            trigger: ".o-mail-Chatter-sendMessage",
            run: "click",
        },
        {
            content: "Write the answer",
            trigger: ".o-mail-Composer-input",
            run: "edit We are sending you a new scarf today.",
        },
        {
            content: "Send it",
            trigger: ".o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "The answer is in the chatter",
            trigger: ".o-mail-Message-body:contains(We are sending you a new scarf today.)",
        },
        {
            content: "Close the ticket",
            trigger: "button[name=action_close]",
            run: "click",
        },
        {
            content: "The ticket is solved",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains(Solved)",
        },
    ],
});
