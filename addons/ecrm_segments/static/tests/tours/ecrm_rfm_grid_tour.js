import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("ecrm_segments_rfm_grid_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("ecrm_segments.menu_ecrm_root", "Open the eCRM app"),
        {
            content: "Open the Analysis menu",
            trigger: ".o_main_navbar button[data-menu-xmlid='ecrm_segments.menu_ecrm_analysis']",
            run: "click",
        },
        {
            content: "Choose RFM Grid",
            trigger: ".dropdown-item[data-menu-xmlid='ecrm_segments.menu_ecrm_rfm_grid']",
            run: "click",
        },
        {
            content: "The grid shows the customers with R=1, F=1",
            trigger: ".o_ecrm_rfm_cell[data-r='1'][data-f='1'] .o_ecrm_rfm_count:contains(3)",
        },
        {
            content: "Drill into that cell",
            trigger: ".o_ecrm_rfm_cell[data-r='1'][data-f='1']",
            run: "click",
        },
        {
            content: "Its customers are listed",
            trigger: ".o_list_view .o_data_row:contains(Tour Customer 1)",
        },
        {
            content: "Back to the grid",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(RFM Grid)",
            run: "click",
        },
        {
            content: "Open the Tour VIP segment",
            trigger: ".o_ecrm_segment_link[data-code='tour_vip']",
            run: "click",
        },
        {
            content: "The segment counts its customers",
            trigger: ".o_form_view .oe_stat_button:contains(3)",
        },
        {
            content: "Export it",
            trigger: ".o_form_view button[name='action_export_xlsx']",
            run: "click",
        },
        {
            content: "Build the workbook",
            trigger: ".modal button[name='action_export']",
            run: "click",
        },
        {
            content: "The workbook of 3 customers is ready to download",
            trigger: ".modal div[name='line_count']:contains(3)",
        },
        {
            content: "The file is offered for download",
            trigger: ".modal div[name='file_data']:contains(tour_vip)",
        },
    ],
});
