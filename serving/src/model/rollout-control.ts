import type { ServingState } from '@cd4ml/contracts';
import { advance, candidateShare, rollback } from '../channels/state.ts';
import { RolloutMonitor } from './rollout.ts';
import type { RolloutStatus } from './types.ts';

// From a monitor's verdict to the change of serving.json it asks for, and the
// status a replica shows in GET /v2/models/<name> and /metrics.

export interface RolloutChange {
  action: 'advance' | 'rollback';
  reason: string;
  /** Applied to the state read at write time: null when the step it judged is over already. */
  change: (s: ServingState) => ServingState | null;
}

export function decideRollout(monitor: RolloutMonitor, by: string): RolloutChange | null {
  const verdict = monitor.judge();
  if (verdict.action === 'wait') return null;
  const figures = monitor.figures();
  const key = RolloutMonitor.keyOf(monitor.spec);
  const sameStep = (s: ServingState): boolean => s.candidate !== null && RolloutMonitor.keyOf(s.candidate) === key;
  return {
    action: verdict.action,
    reason: verdict.reason,
    change: (s) => (!sameStep(s) ? null : verdict.action === 'advance' ? advance(s, figures, by) : rollback(s, by, verdict.reason, figures)),
  };
}

export function rolloutStatus(state: ServingState | null, monitor: RolloutMonitor | null, loaded: boolean, paused: string | null): RolloutStatus | null {
  const c = state?.candidate;
  if (!state || !c) return null;
  const { rollout } = c;
  return {
    mode: rollout.mode,
    candidate: c.tag,
    loaded,
    step: c.step,
    steps: rollout.steps,
    share: candidateShare(state),
    stepStartedAt: c.stepStartedAt,
    stepTime: rollout.stepTime,
    limits: {
      maxErrorRate: rollout.maxErrorRate, maxP99Ms: rollout.maxP99Ms, maxOutputShift: rollout.maxOutputShift,
      minRequests: rollout.minRequests, minAgreement: rollout.minAgreement,
    },
    figures: monitor && monitor.spec.tag === c.tag ? monitor.figures() : c.figures,
    paused,
  };
}
