import type { RolloutConfig, RolloutFigures, ServingDecision, ServingState } from '@cd4ml/contracts';

// What `cd4ml release status` prints: the live release, the rollout's step, its
// figures against the limits (from serving.json, or fresher from a replica), and
// the decisions with their reasons (why a rollback happened).

/** The rollout as a replica reports it in GET /v2/models/<name> (cd4ml.rollout). */
export interface ReplicaRollout {
  candidate: string;
  loaded: boolean;
  share: number;
  figures: RolloutFigures | null;
  paused: string | null;
}

const num = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined ? '-' : x.toFixed(digits));

/** One line per limit: the figure, the limit, and whether it holds (`waiting` until there are enough requests). */
export function figureLines(r: RolloutConfig, f: RolloutFigures | null): string[] {
  if (!f) return ['  figures: none yet (the candidate has answered no requests in this step)'];
  const enough = f.requests >= r.minRequests;
  const mark = (ok: boolean | null): string => (ok === null || !enough ? 'waiting' : ok ? 'ok' : 'BROKEN');
  const lines = [
    `  requests  ${f.requests} (judged from ${r.minRequests}; live ${f.liveRequests})`,
    `  errorRate ${num(f.errorRate)} <= maxErrorRate ${r.maxErrorRate}: ${mark(f.errorRate <= r.maxErrorRate)} (live ${num(f.liveErrorRate)})`,
    `  p99Ms     ${num(f.p99Ms, 1)} <= maxP99Ms ${r.maxP99Ms}: ${mark(f.p99Ms === null ? null : f.p99Ms <= r.maxP99Ms)} (live ${num(f.liveP99Ms, 1)})`,
  ];
  if (r.mode === 'canary') {
    lines.push(`  outputShift ${num(f.outputShift)} <= maxOutputShift ${r.maxOutputShift}: ${mark(f.outputShift === null ? null : f.outputShift <= r.maxOutputShift)}`);
  } else {
    lines.push(`  agreement ${num(f.agreement)} >= minAgreement ${r.minAgreement}: ${mark(f.agreement === null ? null : f.agreement >= r.minAgreement)}`);
  }
  return lines;
}

export function decisionLine(d: ServingDecision): string {
  return `  ${d.at} ${d.action} ${d.tag}${d.from ? ` (from ${d.from})` : ''} by ${d.by}: ${d.reason}`;
}

export function statusLines(state: ServingState, replica: ReplicaRollout | null = null): string[] {
  const back = state.previous.at(-1);
  const out = [`${state.project}: live ${state.live ?? 'none'}${back ? ` (rollback goes to ${back})` : ''}`];
  const c = state.candidate;
  if (!c) out.push('rollout: none');
  else {
    const r = c.rollout;
    const where = r.mode === 'canary'
      ? `canary step ${c.step + 1} of ${r.steps.length} (${r.steps.join('% -> ')}%): ${r.steps[c.step]}% since ${c.stepStartedAt}`
      : `shadow since ${c.startedAt}`;
    out.push(`rollout: ${c.tag} ${where}, ${r.stepTime} a step`);
    const live = replica && replica.candidate === c.tag ? replica : null;
    if (live?.paused) out.push(`  PAUSED: ${live.paused}`);
    if (live && !live.loaded) out.push('  the replica has not loaded the candidate yet');
    out.push(live ? '  figures this step (from the replica):' : '  figures at the last decision (serving.json):');
    out.push(...figureLines(r, live ? live.figures : c.figures));
  }
  const last = state.history.slice(-10);
  if (last.length) out.push('decisions (newest last):', ...last.map(decisionLine));
  const rolledBack = [...state.history].reverse().find((d) => d.action === 'rollback' || d.action === 'refused');
  if (rolledBack) out.push(`last rollback: ${rolledBack.tag} at ${rolledBack.at}, because ${rolledBack.reason}`);
  return out;
}
