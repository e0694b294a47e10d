import { describeSetting, metricCell, usd, type SweepStatus } from '@cd4ml/contracts';

/** `cd4ml sweep status`: one row per trial (setting, state, metric with interval, cost, machine), then the summary. */
export function renderSweepStatus(s: SweepStatus): string {
  const header = ['#', 'setting', 'state', s.metric, 'cost', 'machine'];
  const rows = s.trials.map((t) => [
    String(t.n), describeSetting(t.setting), t.state, metricCell(t),
    typeof t.cost === 'number' ? usd(t.cost) : '-', t.machine ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const notes = s.trials.filter((t) => t.reason && t.state !== 'queued').map((t) => `  trial ${t.n} ${t.state}: ${t.reason}`);
  const budget = s.budget === null ? '' : ` budget ${usd(s.budget)}`;
  const spent = s.spent === null ? '' : ` spent ${usd(s.spent)}`;
  return [
    `${s.workflowId} (${s.state}; ${s.parallel} at a time;${budget}${spent})`,
    line(header), ...rows.map(line),
    ...(notes.length ? ['', ...notes] : []),
    ...(s.summary ? ['', s.summary] : []),
  ].join('\n');
}
