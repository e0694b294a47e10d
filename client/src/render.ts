import type { Metrics, TrainingResult } from '@cd4ml/contracts';
import type { TrainingOutcome } from './start-training.ts';

const num = (v: number | number[] | undefined) =>
  v === undefined ? '-' : Array.isArray(v) ? `[${v.map((x) => x.toFixed(3)).join(', ')}]` : Number.isInteger(v) ? String(v) : v.toFixed(4);

/** cd4ml's own figures for candidate and baseline (same rows), and beside them what the training code reported. */
function metricsTable(metrics: Metrics, baseline: TrainingResult['baseline'], reported?: Metrics): string[] {
  const rows = Object.keys(metrics).filter((n) => n !== 'folds').map((name) => {
    const c = metrics[name];
    const b = baseline?.metrics[name];
    const delta = typeof c === 'number' && typeof b === 'number' ? `${c - b >= 0 ? '+' : ''}${Number.isInteger(c - b) ? c - b : (c - b).toFixed(4)}` : '';
    return [name, num(c), num(b), delta, ...(reported ? [num(reported[name])] : [])];
  });
  const head = ['metric', 'candidate', baseline ? `baseline ${baseline.tag}` : 'baseline (none)', 'change', ...(reported ? ['reported'] : [])];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [fmt(head), ...rows.map(fmt)];
}

/** A failed run: its failure type and message, indented. */
export function renderFailure(outcome: { message: string; type?: string }): string {
  return [`FAILED${outcome.type ? ` (${outcome.type})` : ''}:`, ...outcome.message.split('\n').map((l) => `  ${l}`)].join('\n');
}

/** The end of a training as a person reads it: decision, reasons, metrics against the baseline, where the release is. */
export function renderOutcome(outcome: TrainingOutcome, releaseFolder?: (key: string, store: string) => string): string {
  if (outcome.kind === 'failed') return renderFailure(outcome);
  const r = outcome.result;
  const lines = [
    `${r.decision === 'accepted' ? 'ACCEPTED' : 'REJECTED'}: ${r.releaseTag} from commit ${r.commit.slice(0, 10)}`,
  ];
  if (r.notes?.length) lines.push('notes:', ...r.notes.map((x) => `  - ${x}`));
  if (r.reasons.length) lines.push('reasons:', ...r.reasons.map((x) => `  - ${x}`));
  lines.push('checks:', ...r.checks.map((c) => `  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`));
  lines.push('metrics (measured by cd4ml on the holdout):', ...metricsTable(r.metrics, r.baseline, r.reportedMetrics));
  if (r.comparison?.warning) lines.push(`WARNING: ${r.comparison.warning}`);
  if (r.release) {
    lines.push(`release: ${r.releaseTag} (git tag at ${r.release.tagCommit.slice(0, 10)})`);
    lines.push(`folder:  ${releaseFolder ? releaseFolder(r.release.key, r.release.store) : `${r.release.store}/${r.release.key}`}`);
    const page = r.releasePage;
    if (page?.published) lines.push(`page:    ${page.url}`);
    // The release stands; the page can be published again once the problem is fixed.
    else if (page) lines.push(`WARNING: release page not written (${page.failureType}): ${page.error}`);
  } else {
    lines.push('nothing was published');
  }
  if (r.image) lines.push(`image:   ${r.image.ref} (${r.image.built ? 'built for this training' : 'from the registry'})`);
  lines.push(`machine: ${r.machineSeconds.toFixed(1)} s${r.estimatedCost != null ? ` (about $${r.estimatedCost.toFixed(2)})` : ''}`);
  return lines.join('\n');
}
