import { Component, onMounted, onWillUnmount, onWillUpdateProps, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

const POLL_MS = 2000;
const BUSY = ["queued", "running"];

/**
 * Progress of the background recompute of the Scoring Settings screen (field run_progress).
 * While the run is queued or running it reads the state of the run every two seconds and
 * shows the share done and the customers done / to do; when the run ends it reloads the
 * record (unless the user is editing it) so the last run's figures appear.
 */
export class EcrmRunProgress extends Component {
    static template = "ecrm_segments.RunProgress";
    static props = { ...standardFieldProps };

    setup() {
        this.orm = useService("orm");
        this.state = useState(this.fromRecord(this.props.record.data));
        this.timer = null;
        onMounted(() => this.schedule());
        onWillUpdateProps((next) => {
            Object.assign(this.state, this.fromRecord(next.record.data));
            this.schedule();
        });
        onWillUnmount(() => this.stop());
    }

    fromRecord(data) {
        return {
            runState: data.run_state,
            progress: data.run_progress || 0,
            done: data.run_done || 0,
            total: data.run_total || 0,
        };
    }

    get busy() {
        return BUSY.includes(this.state.runState);
    }

    get label() {
        if (this.state.runState === "queued") {
            return _t("Waiting for a free worker…");
        }
        if (this.state.runState === "running") {
            if (this.state.total) {
                return _t("%(done)s of %(total)s customers done, %(left)s left", {
                    done: this.state.done.toLocaleString(),
                    total: this.state.total.toLocaleString(),
                    left: (this.state.total - this.state.done).toLocaleString(),
                });
            }
            return _t("Scoring the customers…");
        }
        return _t("No recompute running.");
    }

    get percent() {
        return Math.round(this.busy ? this.state.progress : this.state.progress || 0);
    }

    schedule() {
        this.stop();
        if (this.busy && this.props.record.resId) {
            this.timer = setTimeout(() => this.poll(), POLL_MS);
        }
    }

    stop() {
        if (this.timer) {
            clearTimeout(this.timer);
            this.timer = null;
        }
    }

    async poll() {
        this.timer = null;
        const [data] = await this.orm.read(
            "ecrm.config",
            [this.props.record.resId],
            ["run_state", "run_progress", "run_done", "run_total"]
        );
        if (!data) {
            return;
        }
        Object.assign(this.state, this.fromRecord(data));
        if (this.busy) {
            this.schedule();
        } else if (!this.props.record.dirty) {
            await this.props.record.load();
        }
    }
}

export const ecrmRunProgress = {
    component: EcrmRunProgress,
    displayName: _t("eCRM Recompute Progress"),
    supportedTypes: ["float"],
    fieldDependencies: [
        { name: "run_state", type: "selection" },
        { name: "run_done", type: "integer" },
        { name: "run_total", type: "integer" },
    ],
};

registry.category("fields").add("ecrm_run_progress", ecrmRunProgress);
