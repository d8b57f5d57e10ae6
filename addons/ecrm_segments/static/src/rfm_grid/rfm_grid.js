import { Component, onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";

/**
 * R x F heatmap of the current company's customers: each cell shows how many customers
 * have that recency and frequency score and what they spent; the colour grows with the
 * count. Clicking a cell lists its customers, clicking a segment opens it.
 */
export class RfmGrid extends Component {
    static template = "ecrm_segments.RfmGrid";
    static components = { Layout };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ data: null });
        onWillStart(() => this.load());
    }

    async load() {
        this.state.data = await this.orm.call("ecrm.partner.score", "get_rfm_grid", []);
    }

    get rows() {
        const rows = [];
        for (const r of [5, 4, 3, 2, 1]) {
            rows.push({ r, cells: this.state.data.cells.filter((c) => c.r === r) });
        }
        return rows;
    }

    cellStyle(cell) {
        const max = this.state.data.max_count || 1;
        const ratio = cell.count / max;
        const alpha = cell.count ? 0.12 + 0.78 * ratio : 0;
        const color = ratio > 0.55 ? "#fff" : "#212529";
        return `background-color: rgba(1, 126, 132, ${alpha.toFixed(3)}); color: ${color};`;
    }

    formatAmount(value) {
        return `${this.state.data.currency} ${Math.round(value).toLocaleString()}`;
    }

    openCell(cell) {
        this.action.doAction({
            type: "ir.actions.act_window",
            name: _t("Customers with R=%(r)s F=%(f)s", { r: cell.r, f: cell.f }),
            res_model: "ecrm.partner.score",
            views: [
                [false, "list"],
                [false, "form"],
            ],
            domain: [
                ["r_score", "=", cell.r],
                ["f_score", "=", cell.f],
            ],
        });
    }

    openSegment(segment) {
        this.action.doAction({
            type: "ir.actions.act_window",
            res_model: "ecrm.segment",
            res_id: segment.id,
            views: [[false, "form"]],
        });
    }
}

registry.category("actions").add("ecrm_segments.rfm_grid", RfmGrid);
