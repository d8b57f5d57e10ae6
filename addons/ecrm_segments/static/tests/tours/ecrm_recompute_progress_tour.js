import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_utils";

registry.category("web_tour.tours").add("ecrm_segments_recompute_progress_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("ecrm_segments.menu_ecrm_root", "Open the eCRM app"),
        {
            content: "Open the Configuration menu",
            trigger: ".o_main_navbar button[data-menu-xmlid='ecrm_segments.menu_ecrm_config']",
            run: "click",
        },
        {
            content: "Choose Scoring Settings",
            trigger: ".dropdown-item[data-menu-xmlid='ecrm_segments.menu_ecrm_settings']",
            run: "click",
        },
        {
            content: "Nothing runs yet",
            trigger: ".o_ecrm_run_progress[data-run-state='idle']",
        },
        {
            content: "Recompute now",
            trigger: ".o_form_view button[name='action_recompute_now']",
            run: "click",
        },
        {
            content: "The user is told it runs in the background",
            trigger: ".o_notification:contains(Recompute started)",
        },
        {
            content: "The progress shows the queued run",
            trigger: ".o_ecrm_run_progress[data-run-state='queued'] .o_ecrm_run_progress_label:contains(Waiting)",
        },
        {
            content: "A second click",
            trigger: ".o_form_view button[name='action_recompute_now']",
            run: "click",
        },
        {
            content: "does not start a second run",
            trigger: ".o_notification:contains(already under way)",
        },
    ],
});
