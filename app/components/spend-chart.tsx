import type { EChartsOption } from "echarts";
import { currencyDecimals } from "#app/utils/money";

// Spend charts, drawn once on the server: the route's loader turns these options into SVG with
// Apache ECharts' server-side renderer (no DOM, no client JavaScript), and <SpendChart> shows that SVG
// beside a table with the same numbers for screen readers. Chart geometry uses plain numbers; every
// amount a person reads as text (labels, table, summary) was formatted from exact BigInt micro-units.

/** Two renderings of each chart: wide for tablets and up, narrow for phones (readable text at 390 px). */
export const CHART_WIDTH = { wide: 720, narrow: 340 } as const;
export type ChartVariant = keyof typeof CHART_WIDTH;
export type ChartSvgs = Record<ChartVariant, string>;

export type DayPoint = {
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** Units of the currency, for drawing only. */
  value: number;
  /** Exact, formatted amount, e.g. "$0.0123". */
  label: string;
};

export type ModelPoint = { model: string; value: number; label: string; count: number };

const BAR = "#2856dc";
// Shared by every server-drawn chart (the admin's too).
export const GRID_LINE = "rgba(113, 113, 122, 0.3)";
export const TEXT = "#52525b";
export const FONT = { fontSize: 12, fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" };

/** "12 Nov" from "2026-11-12". */
export function shortDay(day: string): string {
  return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" }).format(
    new Date(`${day}T00:00:00Z`),
  );
}

/** "Thu 12 Nov 2026" from "2026-11-12". */
export function longDay(day: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    timeZone: "UTC",
  }).format(new Date(`${day}T00:00:00Z`));
}

/** Axis ticks are round numbers chosen by the chart, so they are formatted from numbers ("$0.80", "$12K"). */
export function axisMoney(currency: string) {
  const decimals = currencyDecimals(currency);
  const plain = new Intl.NumberFormat("en", {
    style: "currency",
    currency,
    minimumFractionDigits: decimals,
    maximumFractionDigits: Math.max(decimals, 4),
  });
  const compact = new Intl.NumberFormat("en", {
    style: "currency",
    currency,
    notation: "compact",
    maximumSignificantDigits: 3,
  });
  return (value: number) => (Math.abs(value) >= 10_000 ? compact : plain).format(value);
}

/**
 * What every per-day bar chart shares: the UTC days along the bottom (the newest last, labelled with every
 * 7th (phone) or 5th (wide) day before it), money up the side, and labels kept inside the chart.
 */
export function dayChartFrame(days: string[], variant: ChartVariant, currency: string): EChartsOption {
  const narrow = variant === "narrow";
  return {
    animation: false,
    textStyle: FONT,
    // The axis labels fit inside the chart (ECharts 6 spelling of the deprecated `containLabel`).
    grid: { left: 8, right: 12, top: 16, bottom: 8, outerBoundsMode: "same", outerBoundsContain: "axisLabel" },
    xAxis: {
      type: "category",
      data: days.map(shortDay),
      axisTick: { show: false },
      axisLine: { lineStyle: { color: GRID_LINE } },
      axisLabel: {
        color: TEXT,
        interval: (index: number) => (days.length - 1 - index) % (narrow ? 7 : 5) === 0,
        hideOverlap: true,
      },
    },
    yAxis: {
      type: "value",
      min: 0,
      splitNumber: narrow ? 3 : 4,
      axisLabel: { color: TEXT, formatter: axisMoney(currency) },
      splitLine: { lineStyle: { color: GRID_LINE } },
    },
  };
}

export function spendByDayOption(points: DayPoint[], variant: ChartVariant, currency: string): EChartsOption {
  return {
    ...dayChartFrame(
      points.map((point) => point.day),
      variant,
      currency,
    ),
    series: [
      {
        type: "bar",
        name: "Spent",
        data: points.map((point) => point.value),
        itemStyle: { color: BAR, borderRadius: [3, 3, 0, 0] },
        barMaxWidth: 18,
        silent: true,
      },
    ],
  };
}

export const MODEL_ROW_HEIGHT = 46;

export function spendByModelHeight(count: number): number {
  return Math.max(count, 1) * MODEL_ROW_HEIGHT + 8;
}

/**
 * One row per model, biggest first: the model and its amount written above its bar, starting at the
 * left edge, so long model names are never cut off by an axis gutter.
 */
export function spendByModelOption(points: ModelPoint[], variant: ChartVariant): EChartsOption {
  const width = CHART_WIDTH[variant];
  return {
    animation: false,
    textStyle: FONT,
    grid: { left: 0, right: 4, top: 22, bottom: 0 },
    xAxis: { type: "value", show: false, min: 0 },
    yAxis: { type: "category", inverse: true, show: false, data: points.map((point) => point.model) },
    series: [
      {
        type: "bar",
        name: "Spent",
        data: points.map((point) => point.value),
        itemStyle: { color: BAR, borderRadius: 3 },
        barWidth: 14,
        barMinHeight: 3,
        silent: true,
        label: {
          show: true,
          position: [0, -18],
          align: "left",
          width: width - 8,
          overflow: "truncate",
          color: TEXT,
          fontSize: 13,
          // Plain text (no rich-text markup), so any character in a model id is shown as it is.
          formatter: ({ dataIndex }: { dataIndex: number }) => {
            const point = points[dataIndex];
            return point ? `${point.model} · ${point.label}` : "";
          },
        },
      },
    ],
  };
}

export type SpendChartProps = {
  id: string;
  title: string;
  /** One visible sentence that says what the chart shows (also its text alternative). */
  summary: string;
  svgs: ChartSvgs;
  table: { caption: string; columns: string[]; rows: string[][] };
};

/**
 * A server-drawn chart: the SVG is decoration for sighted readers (aria-hidden); the summary and a
 * visually hidden table carry the same numbers for everyone else.
 */
export function SpendChart({ id, title, summary, svgs, table }: SpendChartProps) {
  const svgClass = "[&_svg]:h-auto [&_svg]:max-w-full dark:[&_text]:fill-zinc-300";
  return (
    <figure aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`} className="relative min-w-0">
      <figcaption>
        <h3 id={`${id}-title`} className="text-base font-semibold">
          {title}
        </h3>
        <p id={`${id}-summary`} className="text-sm text-zinc-600 dark:text-zinc-400">
          {summary}
        </p>
      </figcaption>
      {/* Our own SVG, rendered on the server by ECharts from numbers and escaped labels. */}
      <div
        aria-hidden="true"
        data-chart={`${id}-wide`}
        className={`mt-3 hidden md:block ${svgClass}`}
        dangerouslySetInnerHTML={{ __html: svgs.wide }}
      />
      <div
        aria-hidden="true"
        data-chart={`${id}-narrow`}
        className={`mt-3 md:hidden ${svgClass}`}
        dangerouslySetInnerHTML={{ __html: svgs.narrow }}
      />
      {/* sr-only on a wrapper: a table ignores width: 1px and would widen the page. */}
      <div className="sr-only">
        <table>
          <caption>{table.caption}</caption>
          <thead>
            <tr>
              {table.columns.map((column) => (
                <th key={column} scope="col">
                  {column}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row) => (
              <tr key={row[0]}>
                {row.map((cell, index) =>
                  index === 0 ? (
                    <th key={index} scope="row">
                      {cell}
                    </th>
                  ) : (
                    <td key={index}>{cell}</td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
