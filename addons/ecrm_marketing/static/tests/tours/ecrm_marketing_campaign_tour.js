import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

function addStep(name, template, delay) {
    return [
        {
            content: `Add the step ${name}`,
            trigger: "div[name='step_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            content: "Name the step",
            trigger: "div[name='step_ids'] .o_selected_row .o_field_widget[name='name'] input",
            run: `edit ${name}`,
        },
        {
            content: "Set its delay",
            trigger: "div[name='step_ids'] .o_selected_row .o_field_widget[name='delay'] input",
            run: `edit ${delay}`,
        },
        {
            content: "Choose its email template",
            trigger: "div[name='step_ids'] .o_selected_row .o_field_widget[name='mail_template_id'] input",
            run: `edit ${template}`,
        },
        {
            content: "Pick the template",
            trigger: `.o-autocomplete--dropdown-menu li:contains(${template})`,
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("ecrm_marketing_campaign_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("ecrm_segments.menu_ecrm_root", "Open the eCRM app"),
        {
            content: "Open the Marketing menu",
            trigger: ".o_main_navbar button[data-menu-xmlid='ecrm_marketing.menu_ecrm_marketing_root']",
            run: "click",
        },
        {
            content: "Choose Campaigns",
            trigger: ".dropdown-item[data-menu-xmlid='ecrm_marketing.menu_ecrm_marketing_campaigns']",
            run: "click",
        },
        {
            content: "The campaigns list is shown",
            trigger: ".o_breadcrumb:contains(Campaigns)",
        },
        {
            content: "Create a campaign",
            trigger: ".o_control_panel .o_list_button_add",
            run: "click",
        },
        {
            content: "Name it",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Tour welcome flow",
        },
        ...addStep("Welcome", "eCRM: Welcome", 0),
        ...addStep("Win-back", "eCRM: Win-back", 3),
        ...stepUtils.saveForm(),
        {
            content: "Activate the campaign",
            trigger: ".o_form_statusbar button[name='action_activate']",
            run: "click",
        },
        {
            content: "The campaign is running",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains(Running)",
        },
        {
            content: "The Stop button is offered",
            trigger: ".o_form_statusbar button[name='action_stop']",
        },
    ],
});
