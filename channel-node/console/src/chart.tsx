// A time-series chart drawn by uPlot: created once, fed new data on every poll.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartProps {
  readonly title: string;
  readonly unit: string;
  /** Unix seconds. */
  readonly t: readonly number[];
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly testId: string;
}

export function Chart({ title, unit, t, values, color, testId }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (box.current === null) return;
    const chart = new uPlot(
      {
        title,
        // The box's content width (its padding is 8 px a side).
        width: Math.max(320, box.current.clientWidth - 16),
        height: 200,
        series: [{}, { label: unit, stroke: color, width: 2, fill: `${color}22`, spanGaps: false }],
        axes: [{}, { label: unit, size: 60 }],
        scales: { y: { range: (_u, min, max) => [0, Math.max(1, max, min)] } },
      },
      [[], []],
      box.current,
    );
    plot.current = chart;
    return () => {
      chart.destroy();
      plot.current = null;
    };
  }, [title, unit, color]);
  useEffect(() => {
    plot.current?.setData([t as number[], values as (number | null)[]]);
  }, [t, values]);
  return <div class="chart" data-testid={testId} data-points={t.length} ref={box} />;
}
