import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("ecrm_segments_menu_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("ecrm_segments.menu_ecrm_root", "Open the eCRM app"),
        {
            content: "The eCRM app opens on its customers list",
            trigger: ".o_main_navbar .o_menu_brand:contains(eCRM)",
        },
        {
            content: "The customers list is shown",
            trigger: ".o_breadcrumb:contains(Customers)",
        },
        {
            content: "Open the Customers menu",
            trigger: ".o_main_navbar button[data-menu-xmlid='ecrm_segments.menu_ecrm_customers_root']",
            run: "click",
        },
        {
            content: "Choose Customers",
            trigger: ".dropdown-item[data-menu-xmlid='ecrm_segments.menu_ecrm_customers']",
            run: "click",
        },
        {
            content: "Switch to the kanban view",
            trigger: ".o_switch_view.o_kanban",
            run: "click",
        },
        {
            content: "The kanban view of customers is shown",
            trigger: ".o_kanban_renderer",
        },
    ],
});
