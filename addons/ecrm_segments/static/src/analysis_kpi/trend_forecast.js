import { Component, onWillStart, onWillUnmount, useEffect, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { exportAction, isoDate, loadInto } from "./analysis_common";

/**
 * Orders or revenue per week or month with the forecast of the coming periods, its
 * prediction interval and its backtest error (MAPE), so a user knows how far to trust it.
 */
export class EcrmTrendForecast extends Component {
    static template = "ecrm_segments.TrendForecast";
    static components = { Layout };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.canvasRef = useRef("canvas");
        this.chart = null;
        const today = new Date();
        this.state = useState({
            dateFrom: isoDate(new Date(today.getFullYear() - 2, today.getMonth(), 1)),
            dateTo: isoDate(today),
            grain: "month",
            horizon: 3,
            measure: "revenue",
            segmentId: 0,
            segments: [],
            data: null,
            error: null,
        });
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            this.state.segments = await this.orm.searchRead("ecrm.segment", [], ["name"]);
            await this.load();
        });
        useEffect(
            () => this.renderChart(),
            () => [this.state.data, this.state.measure]
        );
        onWillUnmount(() => this.chart?.destroy());
    }

    async load() {
        await loadInto(this.state, () =>
            this.orm.call(
                "ecrm.analysis.trend",
                "get_trends",
                [this.state.dateFrom, this.state.dateTo],
                {
                    grain: this.state.grain,
                    horizon: Number(this.state.horizon),
                    segment_id: Number(this.state.segmentId) || false,
                }
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

    get forecast() {
        return this.state.data.forecast[this.state.measure];
    }

    get mapeText() {
        const mape = this.forecast.mape;
        return mape === null ? _t("not measurable") : `${(mape * 100).toFixed(1)}%`;
    }

    renderChart() {
        if (!this.canvasRef.el || !this.state.data || !window.Chart) {
            return;
        }
        const data = this.state.data;
        const actual = data.series[this.state.measure];
        const forecast = this.forecast;
        const labels = [...data.periods, ...data.forecast.periods];
        const pad = (values, before) => [...Array(before).fill(null), ...values];
        // the forecast starts after the last whole period (a period not over yet is re-forecast)
        const last = data.forecast.known_periods - 1;
        const labelCount = Math.max(data.periods.length, last + 1 + data.forecast.periods.length);
        labels.length = labelCount;
        for (let i = 0; i < labelCount; i++) {
            labels[i] = i <= last ? data.periods[i] : data.forecast.periods[i - last - 1];
        }
        // the forecast lines start at the last known value so they join the actual line
        const join = (values) => (values.length ? [actual[last], ...values] : []);
        const datasets = [
            {
                label: this.state.measure === "orders" ? _t("Orders") : _t("Revenue"),
                data: actual,
                borderColor: "#017e84",
                backgroundColor: "#017e84",
                tension: 0.2,
            },
            {
                label: _t("Forecast"),
                data: pad(join(forecast.mean), last),
                borderColor: "#e67e22",
                borderDash: [6, 4],
                backgroundColor: "#e67e22",
            },
            {
                label: _t("Interval low"),
                data: pad(join(forecast.lower), last),
                borderColor: "rgba(230, 126, 34, 0.3)",
                pointRadius: 0,
                fill: false,
            },
            {
                label: _t("Interval high"),
                data: pad(join(forecast.upper), last),
                borderColor: "rgba(230, 126, 34, 0.3)",
                backgroundColor: "rgba(230, 126, 34, 0.15)",
                pointRadius: 0,
                fill: "-1",
            },
        ];
        this.chart?.destroy();
        this.chart = new window.Chart(this.canvasRef.el, {
            type: "line",
            data: { labels, datasets },
            options: { responsive: true, maintainAspectRatio: false, animation: false },
        });
    }

    exportXlsx() {
        this.action.doAction(
            exportAction("trend", {
                date_from: this.state.dateFrom,
                date_to: this.state.dateTo,
                grain: this.state.grain,
                horizon: Number(this.state.horizon),
                segment_ids: Number(this.state.segmentId) ? [Number(this.state.segmentId)] : [],
            })
        );
    }
}

registry.category("actions").add("ecrm_segments.trend_forecast", EcrmTrendForecast);
