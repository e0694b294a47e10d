import type { ReleaseManifest, SweepReport } from '@cd4ml/contracts';
import { SWEEP_PLOT, sweepSection } from './sweep-report.ts';

const fmt = (v: number | number[] | undefined): string =>
  v === undefined ? '-' : Array.isArray(v) ? v.map((x) => x.toFixed(4)).join(', ') : Number.isInteger(v) ? String(v) : v.toFixed(4);

const signed = (n: number) => `${n >= 0 ? '+' : ''}${fmt(n)}`;

/** The metrics table: cd4ml's figures for both models on the same rows, and what the training code reported. */
function metricRows(m: ReleaseManifest): string[] {
  const base = m.baseline?.metrics ?? {};
  const reported = m.reportedMetrics;
  const names = [...new Set([...Object.keys(m.metrics), ...Object.keys(base)])].filter((n) => n !== 'folds');
  const head = reported ? ['| metric | candidate | baseline | change | reported by the training |', '| --- | --- | --- | --- | --- |'] : ['| metric | candidate | baseline | change |', '| --- | --- | --- | --- |'];
  return [...head, ...names.map((n) => {
    const c = m.metrics[n];
    const b = base[n];
    const delta = typeof c === 'number' && typeof b === 'number' ? signed(c - b) : '';
    return `| ${n} | ${fmt(c)} | ${fmt(b)} | ${delta} |${reported ? ` ${fmt(reported[n])} |` : ''}`;
  })];
}

/** How the decision was taken: the paired difference and its interval, or why it could not be measured. */
function decisionLines(m: ReleaseManifest): string[] {
  const g = m.gate;
  if (!g) return [];
  const lines = ['## Decision', ''];
  if (g.scoredOn === 'models' && g.difference !== null && g.lo !== null && g.hi !== null) {
    lines.push(
      `cd4ml ran this model and ${g.baselineTag}'s on the same ${g.rows} holdout rows (${g.task}).`,
      `${g.metric}: ${fmt(g.candidate ?? undefined)} against ${fmt(g.baseline ?? undefined)}, difference ${signed(g.difference)}, ` +
        `${Math.round(g.confidence * 100)}% paired bootstrap interval ${signed(g.lo)} to ${signed(g.hi)} (${g.resamples} resamples, seed ${g.seed}).`,
      `Policy \`${g.policy}\`${g.policy === 'not-worse' ? ` with margin ${fmt(g.margin)}` : ''}.` +
        (g.mcnemarP !== undefined ? ` McNemar exact p = ${fmt(g.mcnemarP)}.` : ''),
    );
  } else if (g.scoredOn === 'none') {
    lines.push(`First model: nothing to compare with. ${g.metric} ${fmt(g.candidate ?? undefined)} on ${g.rows} holdout rows (${g.task}).`);
  }
  if (g.warning) lines.push(`**Warning:** ${g.warning}.`);
  return [...lines, ''];
}

const plotLines = (m: ReleaseManifest): string[] =>
  m.plots?.length ? ['## Plots', '', ...m.plots.flatMap((p) => [`![${p.title}](${p.file})`, '']), ''] : [];

/** report.md: what a reviewer reads on the release page; a sweep's has its trials too. */
export function renderReport(m: ReleaseManifest, sweep?: SweepReport): string {
  return [
    `# ${m.project} ${m.tag}`,
    '',
    `Trained from ${m.git.repoUrl} @ ${m.git.branch} ${m.git.commit.slice(0, 12)} on location \`${m.location}\` (${m.machine.provider}${m.machine.instanceType ? ` ${m.machine.instanceType}` : ''}, ${Math.round(m.machine.seconds)} s${m.machine.estimatedCost != null ? `, about $${m.machine.estimatedCost.toFixed(2)}` : ''}), ${m.createdAt}.`,
    `Requested by ${m.requestedBy}${m.reason ? `: ${m.reason}` : ''}.`,
    '',
    ...decisionLines(m),
    ...(sweep ? sweepSection(sweep, SWEEP_PLOT) : []),
    `## Metrics against the baseline (${m.baseline ? m.baseline.tag : 'none: first model'})`,
    '',
    ...metricRows(m),
    '',
    ...plotLines(m),
    '## Checks',
    '',
    ...m.checks.map((c) => `- ${c.passed ? 'PASS' : 'FAIL'} **${c.name}**: ${c.detail}`),
    '',
    '## Lineage',
    '',
    `- git tag \`${m.tag}\` at ${m.git.tagCommit.slice(0, 12)} (dvc.lock of this training)`,
    `- model \`${m.model.file}\` sha256 ${m.model.sha256} (${m.model.bytes} bytes)`,
    ...(m.image ? [`- training image \`${m.image.ref}\` (${m.image.digest})`] : []),
    ...Object.entries(m.data).map(([p, h]) => `- \`${p}\` ${h}`),
    '',
    '## Durations (s)',
    '',
    ...Object.entries(m.durations).map(([s, d]) => `- ${s}: ${d.toFixed(1)}`),
    '',
  ].join('\n');
}
