import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { exportAction, formatFigure, loadInto, periodPresets } from "./analysis_common";

/**
 * KPI board: the customer figures of a period as cards, each against the previous period
 * of the same length; a click on a card lists the customers behind the figure.
 */
export class EcrmKpiBoard extends Component {
    static template = "ecrm_segments.KpiBoard";
    static components = { Layout };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.presets = periodPresets();
        const preset = this.presets.find((p) => p.key === "last_30");
        this.state = useState({
            preset: preset.key,
            dateFrom: preset.range[0],
            dateTo: preset.range[1],
            compare: true,
            data: null,
            error: null,
        });
        onWillStart(() => this.load());
    }

    async load() {
        await loadInto(this.state, () =>
            this.orm.call(
                "ecrm.analysis.kpi",
                "get_kpis",
                [this.state.dateFrom, this.state.dateTo],
                { compare: this.state.compare }
            )
        );
    }

    choosePreset(ev) {
        const preset = this.presets.find((p) => p.key === ev.target.value);
        this.state.preset = ev.target.value;
        if (preset) {
            [this.state.dateFrom, this.state.dateTo] = preset.range;
            this.load();
        }
    }

    setDate(which, ev) {
        this.state.preset = "custom";
        this.state[which] = ev.target.value;
        this.load();
    }

    toggleCompare() {
        this.state.compare = !this.state.compare;
        this.load();
    }

    format(kpi, value) {
        return formatFigure(value, kpi.format, this.state.data.currency.symbol);
    }

    changeClass(kpi) {
        if (kpi.change === null || kpi.change === undefined) {
            return "text-muted";
        }
        const good = kpi.key === "churn_rate" ? kpi.change < 0 : kpi.change > 0;
        return good ? "text-success" : "text-danger";
    }

    formatChange(kpi) {
        if (kpi.change === null || kpi.change === undefined) {
            return "";
        }
        return `${kpi.change > 0 ? "+" : ""}${(kpi.change * 100).toFixed(1)}%`;
    }

    async openKpi(kpi, previous = false) {
        const action = await this.orm.call(
            "ecrm.analysis.kpi",
            "action_open_kpi",
            [kpi.key, this.state.dateFrom, this.state.dateTo],
            { previous }
        );
        this.action.doAction(action);
    }

    async openSegment(segment) {
        const action = await this.orm.call(
            "ecrm.analysis.kpi",
            "action_open_kpi",
            ["segment", this.state.dateFrom, this.state.dateTo],
            { segment_id: segment.segment_id }
        );
        this.action.doAction(action);
    }

    exportXlsx() {
        this.action.doAction(
            exportAction("kpi", { date_from: this.state.dateFrom, date_to: this.state.dateTo })
        );
    }

    get title() {
        return _t("KPI Board");
    }
}

registry.category("actions").add("ecrm_segments.kpi_board", EcrmKpiBoard);
