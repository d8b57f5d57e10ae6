import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("ecrm_loyalty_liability_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("ecrm_segments.menu_ecrm_root", "Open the eCRM app"),
        {
            content: "Open the Loyalty menu",
            trigger: ".o_main_navbar button[data-menu-xmlid='ecrm_loyalty.menu_ecrm_loyalty_root']",
            run: "click",
        },
        {
            content: "Open the liability report",
            trigger: ".dropdown-item[data-menu-xmlid='ecrm_loyalty.menu_ecrm_loyalty_liability']",
            run: "click",
        },
        {
            content: "The report asks for the date",
            trigger: ".o_form_view .o_field_widget[name='date']",
        },
        {
            content: "Show the report",
            trigger: "button[name='action_compute']",
            run: "click",
        },
        {
            content: "The chart shows the outstanding value",
            trigger: ".o_graph_view .o_graph_renderer canvas",
        },
        {
            content: "Back to the report form",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb .breadcrumb-item a",
            run: "click",
        },
        {
            content: "Download the XLSX",
            trigger: ".o_form_view button[name='action_export_xlsx']",
            run: "click",
        },
        {
            content: "The XLSX download answers with a workbook",
            trigger: ".o_form_view",
            async run() {
                const match = window.location.pathname.match(/\/(\d+)(?:$|\/)/);
                if (!match) {
                    throw new Error(`no report id in ${window.location.pathname}`);
                }
                const response = await fetch(`/ecrm_loyalty/liability/${match[1]}/xlsx`);
                const type = response.headers.get("Content-Type") || "";
                const body = await response.arrayBuffer();
                if (!response.ok || !type.includes("spreadsheetml") || body.byteLength < 1000) {
                    throw new Error(`XLSX download failed: ${response.status} ${type} ${body.byteLength}`);
                }
                document.body.classList.add("o_ecrm_liability_xlsx_ok");
            },
        },
        {
            content: "Downloaded",
            trigger: "body.o_ecrm_liability_xlsx_ok",
        },
    ],
});
