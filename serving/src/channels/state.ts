import {
  MAX_SERVING_HISTORY, type RolloutConfig, type RolloutFigures, type ServingDecision, type ServingState,
} from '@cd4ml/contracts';

// The transitions of serving.json, as pure functions: the CLI and the replicas
// both go through these, so a decision looks the same whoever made it.

/** A change that cannot be made; the message says what to do instead. */
export class ServingStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServingStateError';
  }
}

export const initialState = (project: string, live: string | null, now = new Date()): ServingState => ({
  schemaVersion: 1, project, live, previous: [], candidate: null, history: [], updatedAt: now.toISOString(),
});

type DecisionInput = Omit<ServingDecision, 'at' | 'from' | 'figures'> & { from?: string | null; figures?: RolloutFigures | null };

function decide(s: ServingState, d: DecisionInput, now: Date, change: Partial<ServingState>): ServingState {
  const decision: ServingDecision = { at: now.toISOString(), from: null, figures: null, ...d };
  const history = [...s.history, decision].slice(-MAX_SERVING_HISTORY);
  return { ...s, ...change, history, updatedAt: now.toISOString() };
}

/** Straight to live (no rollout, or mode direct), or start a canary or shadow rollout of `tag`. */
export function promote(s: ServingState, tag: string, rollout: RolloutConfig | null, by: string, now = new Date()): ServingState {
  if (s.candidate) {
    throw new ServingStateError(`a ${s.candidate.rollout.mode} rollout of ${s.candidate.tag} is running (step ${s.candidate.step + 1}); wait for it, or stop it with \`cd4ml release rollback --project ${s.project}\``);
  }
  if (s.live === tag) throw new ServingStateError(`${tag} is already the live release of ${s.project}`);
  if (!rollout || rollout.mode === 'direct' || s.live === null) {
    const previous = s.live ? [...s.previous, s.live] : s.previous;
    const reason = s.live === null ? 'first release: no live release to compare with' : 'promoted directly';
    return decide(s, { action: 'promote', tag, from: s.live, by, reason }, now, { live: tag, previous, candidate: null });
  }
  const at = now.toISOString();
  const reason = rollout.mode === 'canary' ? `canary ${rollout.steps.join('% -> ')}%, ${rollout.stepTime} a step` : `shadow for ${rollout.stepTime}`;
  return decide(s, { action: 'start', tag, by, reason }, now, {
    candidate: { tag, rollout, step: 0, startedAt: at, stepStartedAt: at, figures: null },
  });
}

/** Stops a running rollout (live stays), or, with none, goes back to the previous live release. */
export function rollback(s: ServingState, by: string, reason: string, figures: RolloutFigures | null = null, now = new Date()): ServingState {
  if (s.candidate) {
    return decide(s, { action: 'rollback', tag: s.candidate.tag, by, reason, figures }, now, { candidate: null });
  }
  const back = s.previous.at(-1);
  if (!back || s.live === null) throw new ServingStateError(`${s.project} has no earlier live release to roll back to (live: ${s.live ?? 'none'})`);
  return decide(s, { action: 'rollback', tag: back, from: s.live, by, reason }, now, { live: back, previous: s.previous.slice(0, -1) });
}

/** The candidate passed its step: the next share, or live when it was the last. */
export function advance(s: ServingState, figures: RolloutFigures, by: string, now = new Date()): ServingState {
  const c = s.candidate;
  if (!c) throw new ServingStateError(`${s.project} has no rollout running`);
  const last = c.rollout.mode === 'shadow' || c.step >= c.rollout.steps.length - 1;
  if (last) {
    const previous = s.live ? [...s.previous, s.live] : s.previous;
    const why = c.rollout.mode === 'shadow' ? `shadow agreement ${fmt(figures.agreement)} >= ${c.rollout.minAgreement}` : 'passed every step';
    return decide(s, { action: 'complete', tag: c.tag, from: s.live, by, reason: why, figures }, now, { live: c.tag, previous, candidate: null });
  }
  const step = c.step + 1;
  return decide(s, { action: 'advance', tag: c.tag, by, reason: `step ${step} passed: now ${c.rollout.steps[step]}%`, figures }, now, {
    candidate: { ...c, step, stepStartedAt: now.toISOString(), figures },
  });
}

/** The candidate could not be loaded (bad files, failed smoke test): the rollout ends, live untouched. */
export const refuseCandidate = (s: ServingState, reason: string, by: string, now = new Date()): ServingState =>
  s.candidate ? decide(s, { action: 'refused', tag: s.candidate.tag, by, reason }, now, { candidate: null }) : s;

const fmt = (x: number | null): string => (x === null ? '-' : x.toFixed(3));

/** The candidate's share of requests right now (0..1); shadow takes a copy, never a share. */
export function candidateShare(s: ServingState): number {
  const c = s.candidate;
  if (!c || c.rollout.mode !== 'canary') return 0;
  return (c.rollout.steps[c.step] ?? 0) / 100;
}
