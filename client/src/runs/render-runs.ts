import type { RunRow } from './list-runs.ts';

const duration = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`);

/** The runs as a table: id, kind, state, decision, metric, duration, cost, start. */
export function renderRuns(rows: RunRow[]): string {
  if (!rows.length) return 'no runs match';
  const head = ['id', 'kind', 'state', 'decision', 'metric', 'duration', 'cost', 'started'];
  const cells = rows.map((r) => [
    r.id, r.kind, r.state, r.decision ?? '-', r.metric === undefined ? '-' : r.metric.toFixed(4),
    duration(r.seconds), r.cost === undefined ? '-' : `$${r.cost.toFixed(2)}`, r.startedAt.toISOString().slice(0, 19).replace('T', ' '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(head), ...cells.map(fmt)].join('\n');
}
