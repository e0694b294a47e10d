import type { SweepStatus, SweepTrialStatus } from './sweep.ts';

// How a sweep's trials read, the same in `cd4ml sweep status` and in the release report.

const fmt = (x: number) => String(Number(x.toPrecision(4)));

/** The gate metric, and the gate's interval of the difference to the baseline when there is one. */
export function metricCell(t: SweepTrialStatus): string {
  if (typeof t.metric !== 'number') return '-';
  if (!t.interval) return fmt(t.metric);
  // The gate's interval is of the difference to the baseline, on the same holdout rows.
  return `${fmt(t.metric)} (vs baseline ${fmt(t.interval.lo)}..${fmt(t.interval.hi)}, ${Math.round(t.interval.confidence * 100)}%)`;
}

/** What the sweep's report keeps of it: the table as it ended. */
export type SweepReport = Pick<SweepStatus, 'workflowId' | 'metric' | 'higherIsBetter' | 'parallel' | 'budget' | 'spent' | 'trials'> & { best: number };
