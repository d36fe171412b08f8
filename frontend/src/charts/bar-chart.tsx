//! A grouped bar chart in SVG (one group per period, one bar per series), with a table of the
//! same numbers for screen readers and for anyone who prefers figures to bars.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { niceCeiling, ticks } from "./scale";

export interface Series {
  label: string;
  /** A CSS colour with enough contrast against the page background. */
  color: string;
  values: readonly number[];
}

interface BarChartProps {
  title: string;
  categories: readonly string[];
  series: readonly Series[];
  formatValue: (value: number) => string;
}

/** The drawing is laid out at the width it is shown at, so its 12 px labels stay 12 px on a phone. */
const WIDTH_DEFAULT = 640;
const WIDTH_MIN = 260;
const WIDTH_MAX = 1200;
const HEIGHT = 240;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 72 };
const TICK_COUNT = 4;
/** With few periods, bars stay bar-shaped instead of filling the plot. */
const BAR_WIDTH_MAX = 48;

/** The element's content width in CSS pixels, kept current as it resizes. */
function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element === null) return;
    const measure = () => setWidth(Math.round(element.clientWidth) || fallback);
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

export function BarChart({ title, categories, series, formatValue }: BarChartProps) {
  const [plotArea, measuredWidth] = useWidth(WIDTH_DEFAULT);
  const width = Math.min(WIDTH_MAX, Math.max(WIDTH_MIN, measuredWidth));
  const ceiling = niceCeiling(Math.max(0, ...series.flatMap((one) => one.values)));
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const groupWidth = categories.length === 0 ? 0 : plotWidth / categories.length;
  const barWidth = series.length === 0 ? 0 : Math.min(BAR_WIDTH_MAX, (groupWidth * 0.8) / series.length);
  const y = (value: number) => MARGIN.top + plotHeight - (Math.max(0, value) / ceiling) * plotHeight;

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <ul class="chart-legend">
        {series.map((one) => (
          <li key={one.label}>
            <span class="swatch" style={{ background: one.color }} aria-hidden="true" />
            {one.label}
          </li>
        ))}
      </ul>
      <div ref={plotArea}>
        <svg viewBox={`0 0 ${width} ${HEIGHT}`} width={width} height={HEIGHT} role="img" aria-label={title} preserveAspectRatio="xMidYMid meet">
          {ticks(ceiling, TICK_COUNT).map((tick) => (
            <g key={tick}>
              <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(tick)} y2={y(tick)} class="chart-grid" />
              <text x={MARGIN.left - 6} y={y(tick)} text-anchor="end" dominant-baseline="middle" class="chart-label">
                {formatValue(tick)}
              </text>
            </g>
          ))}
          {categories.map((category, categoryIndex) => {
            // Each group's bars are centred in its slot.
            const groupX = MARGIN.left + categoryIndex * groupWidth + (groupWidth - barWidth * series.length) / 2;
            return (
              <g key={category}>
                {series.map((one, seriesIndex) => {
                  const value = one.values[categoryIndex] ?? 0;
                  return (
                    <rect key={one.label} x={groupX + seriesIndex * barWidth} y={y(value)} width={Math.max(0, barWidth - 2)} height={MARGIN.top + plotHeight - y(value)} fill={one.color}>
                      <title>{`${one.label}, ${category}: ${formatValue(value)}`}</title>
                    </rect>
                  );
                })}
                <text x={groupX + (barWidth * series.length) / 2} y={HEIGHT - 8} text-anchor="middle" class="chart-label">
                  {category}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      <table class="visually-hidden">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Period</th>
            {series.map((one) => (
              <th scope="col" key={one.label}>
                {one.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {categories.map((category, categoryIndex) => (
            <tr key={category}>
              <th scope="row">{category}</th>
              {series.map((one) => (
                <td key={one.label}>{formatValue(one.values[categoryIndex] ?? 0)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
