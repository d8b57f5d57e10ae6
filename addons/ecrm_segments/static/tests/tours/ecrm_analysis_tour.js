import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

const openAnalysis = (xmlid, content) => [
    {
        content: "Open the Analysis menu",
        trigger: ".o_main_navbar button[data-menu-xmlid='ecrm_segments.menu_ecrm_analysis']",
        run: "click",
    },
    {
        content,
        trigger: `.dropdown-item[data-menu-xmlid='${xmlid}']`,
        run: "click",
    },
];

registry.category("web_tour.tours").add("ecrm_segments_analysis_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("ecrm_segments.menu_ecrm_root", "Open the eCRM app"),
        ...openAnalysis("ecrm_segments.menu_ecrm_kpi_board", "Choose KPI Board"),
        {
            content: "The board counts one active customer in the last 30 days",
            trigger: ".o_ecrm_kpi_card[data-key='active_customers'] .o_ecrm_kpi_value:contains(1)",
        },
        {
            content: "Open the customers behind the figure",
            trigger: ".o_ecrm_kpi_card[data-key='active_customers']",
            run: "click",
        },
        {
            content: "The active customer is listed",
            trigger: ".o_list_view .o_data_row:contains(Tour Cohort Ana)",
        },
        ...openAnalysis("ecrm_segments.menu_ecrm_cohorts", "Choose Cohorts"),
        {
            content: "Ana's cohort bought again the month after",
            trigger: ".o_ecrm_cohort_cell[data-offset='1']:contains(100.0%)",
        },
        {
            content: "Drill into that cell",
            trigger: ".o_ecrm_cohort_cell[data-offset='1']",
            run: "click",
        },
        {
            content: "Its customers are listed",
            trigger: ".o_list_view .o_data_row:contains(Tour Cohort Ana)",
        },
        {
            content: "Back to the cohorts",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains(Cohorts)",
            run: "click",
        },
        {
            content: "Export the matrix",
            trigger: ".o_ecrm_cohort_matrix .o_ecrm_export",
            run: "click",
        },
        {
            content: "Build the workbook",
            trigger: ".modal button[name='action_export']",
            run: "click",
        },
        {
            content: "The workbook is offered for download",
            trigger: ".modal div[name='file_data']:contains(cohort-)",
        },
    ],
});
