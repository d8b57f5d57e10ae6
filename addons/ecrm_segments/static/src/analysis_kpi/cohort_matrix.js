import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { exportAction, isoDate, loadInto } from "./analysis_common";

/**
 * Cohort heatmap: customers grouped by the month of their first order (rows), followed
 * month by month (columns); a cell's colour grows with its retention or revenue per
 * customer; a click lists the cell's customers.
 */
export class EcrmCohortMatrix extends Component {
    static template = "ecrm_segments.CohortMatrix";
    static components = { Layout };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        const today = new Date();
        this.state = useState({
            dateFrom: isoDate(new Date(today.getFullYear(), today.getMonth() - 11, 1)),
            dateTo: isoDate(today),
            measure: "retention",
            segmentId: 0,
            tagId: 0,
            teamId: 0,
            choices: { segments: [], tags: [], teams: [] },
            data: null,
            error: null,
        });
        onWillStart(async () => {
            const [segments, tags, teams] = await Promise.all([
                this.orm.searchRead("ecrm.segment", [], ["name"]),
                this.orm.searchRead("res.partner.category", [], ["name"]),
                this.orm.searchRead("crm.team", [], ["name"]),
            ]);
            this.state.choices = { segments, tags, teams };
            await this.load();
        });
    }

    get filters() {
        const ids = (value) => (Number(value) ? [Number(value)] : []);
        return {
            segment_ids: ids(this.state.segmentId),
            tag_ids: ids(this.state.tagId),
            team_ids: ids(this.state.teamId),
        };
    }

    async load() {
        await loadInto(this.state, () =>
            this.orm.call(
                "ecrm.analysis.cohort",
                "get_cohorts",
                [this.state.dateFrom, this.state.dateTo],
                this.filters
            )
        );
    }

    setValue(key, ev) {
        this.state[key] = ev.target.value;
        this.load();
    }

    setMeasure(measure) {
        this.state.measure = measure;
    }

    get offsets() {
        return [...Array(this.state.data.offsets).keys()];
    }

    get maxValue() {
        let max = 0;
        for (const cohort of this.state.data.cohorts) {
            for (const cell of cohort.cells) {
                if (cell.offset > 0 || this.state.measure !== "retention") {
                    max = Math.max(max, cell[this.measureKey]);
                }
            }
        }
        return max || 1;
    }

    get measureKey() {
        return this.state.measure === "retention" ? "retention" : "revenue_per_customer";
    }

    cellText(cell) {
        if (this.state.measure === "retention") {
            return `${(cell.retention * 100).toFixed(1)}%`;
        }
        return `${this.state.data.currency.symbol} ${cell.revenue_per_customer.toFixed(2)}`;
    }

    cellStyle(cell) {
        const ratio = Math.min(cell[this.measureKey] / this.maxValue, 1);
        const alpha = cell.customers ? 0.1 + 0.8 * ratio : 0;
        const color = ratio > 0.55 ? "#fff" : "#212529";
        return `background-color: rgba(1, 126, 132, ${alpha.toFixed(3)}); color: ${color}; cursor: pointer;`;
    }

    async openCell(cohort, cell) {
        const action = await this.orm.call(
            "ecrm.analysis.cohort",
            "action_open_cohort_cell",
            [cohort.cohort, cell.offset],
            this.filters
        );
        this.action.doAction(action);
    }

    exportXlsx() {
        this.action.doAction(
            exportAction("cohort", {
                date_from: this.state.dateFrom,
                date_to: this.state.dateTo,
                segment_ids: this.filters.segment_ids,
                tag_ids: this.filters.tag_ids,
                team_ids: this.filters.team_ids,
            })
        );
    }
}

registry.category("actions").add("ecrm_segments.cohort_matrix", EcrmCohortMatrix);
