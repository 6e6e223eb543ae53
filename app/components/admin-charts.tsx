import type { EChartsOption } from "echarts";
import { CHART_WIDTH, dayChartFrame, FONT, TEXT, type ChartSvgs, type ChartVariant } from "#app/components/spend-chart";

// The admin overview's revenue vs. provider cost charts. Like the wallet's spend charts, the loader draws
// them once on the server (ECharts' SVG renderer, see renderChartSvg) from these options; <ReportChart>
// shows that SVG with a legend and a <details> table carrying the exact figures as text. Geometry uses
// plain numbers (units of the currency, drawing only); every amount a person reads was formatted from
// exact BigInt micro-units on the server.

export const SERIES = {
  revenue: { label: "Revenue", color: "#2856dc" },
  providerCost: { label: "Provider cost", color: "#d97706" },
} as const;

export type RevenueDayPoint = {
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** Units of the currency, for drawing only. */
  revenue: number;
  providerCost: number;
};

export type RevenueModelPoint = {
  model: string;
  revenue: number;
  providerCost: number;
  /** Exact, formatted amounts written beside the bars. */
  revenueLabel: string;
  providerCostLabel: string;
};

/** Two bars per UTC day, revenue and provider cost side by side; the newest day is last. */
export function revenueByDayOption(points: RevenueDayPoint[], variant: ChartVariant, currency: string): EChartsOption {
  const narrow = variant === "narrow";
  const bar = (key: keyof typeof SERIES) => ({
    type: "bar" as const,
    name: SERIES[key].label,
    data: points.map((point) => point[key]),
    itemStyle: { color: SERIES[key].color, borderRadius: [2, 2, 0, 0] },
    barMaxWidth: 9,
    barGap: "0%",
    barCategoryGap: narrow ? "20%" : "30%",
    silent: true,
  });
  return {
    ...dayChartFrame(
      points.map((point) => point.day),
      variant,
      currency,
    ),
    series: [bar("revenue"), bar("providerCost")],
  };
}

export const MODEL_GROUP_HEIGHT = 56;

export function revenueByModelHeight(count: number): number {
  return Math.max(count, 1) * MODEL_GROUP_HEIGHT + 8;
}

/**
 * One group per model, highest revenue first: the model id and both amounts written above its two bars
 * (revenue, then provider cost), from the left edge, so a long model id is never cut by an axis gutter.
 */
export function revenueByModelOption(points: RevenueModelPoint[], variant: ChartVariant): EChartsOption {
  const width = CHART_WIDTH[variant];
  const bar = (key: keyof typeof SERIES) => ({
    type: "bar" as const,
    name: SERIES[key].label,
    data: points.map((point) => point[key]),
    itemStyle: { color: SERIES[key].color, borderRadius: 2 },
    barWidth: 10,
    barGap: "20%",
    barMinHeight: 2,
    silent: true,
  });
  return {
    animation: false,
    textStyle: FONT,
    grid: { left: 0, right: 4, top: 24, bottom: 0 },
    xAxis: { type: "value", show: false, min: 0 },
    yAxis: { type: "category", inverse: true, show: false, data: points.map((point) => point.model) },
    series: [
      {
        ...bar("revenue"),
        label: {
          show: true,
          position: [0, -17],
          align: "left",
          width: width - 8,
          overflow: "truncate",
          color: TEXT,
          fontSize: 13,
          // Plain text (no rich-text markup), so any character in a model id is shown as it is.
          formatter: ({ dataIndex }: { dataIndex: number }) => {
            const point = points[dataIndex];
            return point ? `${point.model} · ${point.revenueLabel} / ${point.providerCostLabel}` : "";
          },
        },
      },
      bar("providerCost"),
    ],
  };
}

export type ReportChartProps = {
  id: string;
  title: string;
  /** One visible sentence that says what the chart shows. */
  summary: string;
  svgs: ChartSvgs;
  /**
   * The same figures as text (the chart's accessible alternative), in a <details> under it. A cell may
   * hold a second line after "\n" (kept narrow enough for a phone without sideways scrolling).
   */
  table: { caption: string; columns: string[]; rows: string[][] };
};

/** The colours of the two series, in words. */
export function SeriesLegend() {
  return (
    <ul className="flex flex-wrap gap-x-4 gap-y-1 text-sm" aria-label="Legend">
      {Object.values(SERIES).map((series) => (
        <li key={series.label} className="flex items-center gap-1.5">
          <span
            aria-hidden="true"
            className="inline-block size-3 rounded-sm"
            style={{ backgroundColor: series.color }}
          />
          {series.label}
        </li>
      ))}
    </ul>
  );
}

/**
 * A server-drawn chart: the SVG is decoration (aria-hidden); the summary and the figures table carry the
 * same numbers for everyone. The table scrolls inside its own box on a narrow screen, never the page.
 */
export function ReportChart({ id, title, summary, svgs, table }: ReportChartProps) {
  const svgClass = "[&_svg]:h-auto [&_svg]:max-w-full dark:[&_text]:fill-zinc-300";
  return (
    <figure aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`} className="min-w-0 space-y-2">
      <figcaption className="space-y-1">
        <h3 id={`${id}-title`} className="text-base font-semibold">
          {title}
        </h3>
        <p id={`${id}-summary`} className="text-sm text-zinc-600 dark:text-zinc-400">
          {summary}
        </p>
      </figcaption>
      <SeriesLegend />
      {/* Our own SVG, rendered on the server by ECharts from numbers and escaped labels. */}
      <div
        aria-hidden="true"
        data-chart={`${id}-wide`}
        className={`hidden md:block ${svgClass}`}
        dangerouslySetInnerHTML={{ __html: svgs.wide }}
      />
      <div
        aria-hidden="true"
        data-chart={`${id}-narrow`}
        className={`md:hidden ${svgClass}`}
        dangerouslySetInnerHTML={{ __html: svgs.narrow }}
      />
      <details className="text-sm">
        <summary className="cursor-pointer py-2 font-medium">Show the figures</summary>
        <div className="max-w-full overflow-x-auto">
          <table className="w-full text-left text-xs tabular-nums sm:text-sm">
            <caption className="sr-only">{table.caption}</caption>
            <thead>
              <tr className="border-b border-zinc-200 dark:border-zinc-700">
                {table.columns.map((column, index) => (
                  <th
                    key={column}
                    scope="col"
                    className={`py-1 pr-2 align-bottom font-semibold last:pr-0 ${index > 0 ? "text-right" : ""}`}
                  >
                    {column}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row) => (
                <tr key={row[0]} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800">
                  {row.map((cell, index) =>
                    index === 0 ? (
                      <th
                        key={index}
                        scope="row"
                        className="min-w-20 py-1 pr-2 align-top font-normal wrap-anywhere whitespace-pre-line"
                      >
                        {cell}
                      </th>
                    ) : (
                      <td key={index} className="py-1 pr-2 text-right align-top whitespace-pre last:pr-0">
                        {cell}
                      </td>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
