import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("ecrm_privacy_portal_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open the privacy page from the portal home",
            trigger: "a[href='/my/privacy']",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Agree to emails",
            trigger: ".o_ecrm_privacy_consent_form input[name='consent_email']:not(:checked)",
            run: "check",
        },
        {
            content: "Save the choices",
            trigger: ".o_ecrm_privacy_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The choice is saved and kept in the history",
            trigger: ".o_ecrm_privacy_saved:contains(saved)",
        },
        {
            content: "Email consent is ticked",
            trigger: ".o_ecrm_privacy_consent_form input[name='consent_email']:checked",
        },
        {
            // what the button posts, read here: the browser of the tests does not keep downloads
            content: "Download my data: the page's form answers with a zip archive",
            trigger: "form.o_ecrm_privacy_download:has(.o_ecrm_privacy_download_button)",
            async run() {
                const form = document.querySelector("form.o_ecrm_privacy_download");
                const response = await fetch(form.action, { method: "POST", body: new FormData(form) });
                const type = response.headers.get("Content-Type") || "";
                const bytes = new Uint8Array(await response.arrayBuffer());
                // a zip starts with "PK"
                if (!response.ok || !type.includes("zip") || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
                    throw new Error(`download failed: ${response.status} ${type} ${bytes.length}`);
                }
                document.body.classList.add("o_ecrm_privacy_downloaded");
            },
        },
        {
            content: "Downloaded",
            trigger: "body.o_ecrm_privacy_downloaded",
        },
    ],
});
