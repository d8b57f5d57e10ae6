import { _t } from "@web/core/l10n/translation";

/** YYYY-MM-DD of a local date. */
export function isoDate(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The periods offered by the period selectors: key, label, [from, to]. */
export function periodPresets(today = new Date()) {
    const y = today.getFullYear();
    const m = today.getMonth();
    const daysAgo = (n) => new Date(y, m, today.getDate() - n);
    return [
        { key: "this_month", label: _t("This month"), range: [new Date(y, m, 1), today] },
        { key: "last_month", label: _t("Last month"), range: [new Date(y, m - 1, 1), new Date(y, m, 0)] },
        { key: "last_30", label: _t("Last 30 days"), range: [daysAgo(29), today] },
        { key: "last_90", label: _t("Last 90 days"), range: [daysAgo(89), today] },
        { key: "this_year", label: _t("This year"), range: [new Date(y, 0, 1), today] },
        { key: "last_12m", label: _t("Last 12 months"), range: [new Date(y, m - 11, 1), today] },
        { key: "last_year", label: _t("Last year"), range: [new Date(y - 1, 0, 1), new Date(y - 1, 11, 31)] },
    ].map((p) => ({ ...p, range: p.range.map(isoDate) }));
}

/** A number shown as the figure's format says (integer, percent, monetary, float). */
export function formatFigure(value, format, symbol = "") {
    if (value === null || value === undefined) {
        return "–";
    }
    if (format === "percent") {
        return `${(value * 100).toFixed(1)}%`;
    }
    if (format === "monetary") {
        return `${symbol} ${value.toLocaleString(undefined, { maximumFractionDigits: 2 })}`;
    }
    if (format === "float") {
        return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
    }
    return value.toLocaleString();
}

/** The action opening the export wizard of an analysis with its parameters. */
export function exportAction(analysis, values) {
    const context = { default_analysis: analysis };
    for (const [key, value] of Object.entries(values)) {
        context[`default_${key}`] = value;
    }
    return {
        type: "ir.actions.act_window",
        name: _t("Export to XLSX"),
        res_model: "ecrm.analysis.kpi.export",
        views: [[false, "form"]],
        target: "new",
        context,
    };
}

/**
 * Run ``request`` (a promise of an analysis) into ``state.data``; a refused request (a bad
 * period, no access) leaves no stale figures and shows its message in ``state.error``.
 */
export async function loadInto(state, request) {
    try {
        state.data = await request();
        state.error = null;
    } catch (error) {
        state.error = error.data?.message || String(error);
        state.data = null;
    }
}
