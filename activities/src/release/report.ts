import type { ReleaseManifest } from '@cd4ml/contracts';

const fmt = (v: number | number[] | undefined): string =>
  v === undefined ? '-' : Array.isArray(v) ? v.map((x) => x.toFixed(4)).join(', ') : Number.isInteger(v) ? String(v) : v.toFixed(4);

/** report.md: what a reviewer reads on the release page. */
export function renderReport(m: ReleaseManifest): string {
  const base = m.baseline?.metrics ?? {};
  const names = [...new Set([...Object.keys(m.metrics), ...Object.keys(base)])];
  const rows = names.map((n) => {
    const c = m.metrics[n];
    const b = base[n];
    const delta = typeof c === 'number' && typeof b === 'number' ? (c - b >= 0 ? '+' : '') + (c - b).toFixed(4) : '';
    return `| ${n} | ${fmt(c)} | ${fmt(b)} | ${delta} |`;
  });
  return [
    `# ${m.project} ${m.tag}`,
    '',
    `Trained from ${m.git.repoUrl} @ ${m.git.branch} ${m.git.commit.slice(0, 12)} on location \`${m.location}\` (${m.machine.provider}${m.machine.instanceType ? ` ${m.machine.instanceType}` : ''}, ${Math.round(m.machine.seconds)} s${m.machine.estimatedCost != null ? `, about $${m.machine.estimatedCost.toFixed(2)}` : ''}), ${m.createdAt}.`,
    `Requested by ${m.requestedBy}${m.reason ? `: ${m.reason}` : ''}.`,
    '',
    `## Metrics against the baseline (${m.baseline ? m.baseline.tag : 'none: first model'})`,
    '',
    '| metric | candidate | baseline | change |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
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
