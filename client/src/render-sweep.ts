import { describeSetting, type SweepStatus, type SweepTrialStatus } from '@cd4ml/contracts';

const fmt = (x: number) => String(Number(x.toPrecision(4)));

function metricCell(t: SweepTrialStatus): string {
  if (typeof t.metric !== 'number') return '-';
  if (!t.interval) return fmt(t.metric);
  // The gate's interval is of the difference to the baseline, on the same holdout rows.
  return `${fmt(t.metric)} (vs baseline ${fmt(t.interval.lo)}..${fmt(t.interval.hi)}, ${Math.round(t.interval.confidence * 100)}%)`;
}

/** `cd4ml sweep status`: one row per trial (setting, state, metric with interval, cost, machine), then the summary. */
export function renderSweepStatus(s: SweepStatus): string {
  const header = ['#', 'setting', 'state', s.metric, 'cost', 'machine'];
  const rows = s.trials.map((t) => [
    String(t.n), describeSetting(t.setting), t.state, metricCell(t),
    typeof t.cost === 'number' ? `$${t.cost.toFixed(2)}` : '-', t.machine ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const notes = s.trials.filter((t) => t.reason && t.state !== 'queued').map((t) => `  trial ${t.n} ${t.state}: ${t.reason}`);
  const budget = s.budget === null ? '' : ` budget $${s.budget.toFixed(2)}`;
  const spent = s.spent === null ? '' : ` spent $${s.spent.toFixed(2)}`;
  return [
    `${s.workflowId} (${s.state}; ${s.parallel} at a time;${budget}${spent})`,
    line(header), ...rows.map(line),
    ...(notes.length ? ['', ...notes] : []),
    ...(s.summary ? ['', s.summary] : []),
  ].join('\n');
}
