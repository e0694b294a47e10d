import type { TrainingOutcome } from '../start-training.ts';

/** 0 released, 3 rejected by the gate (a CI job should fail), 1 the run failed. */
export const exitCodeOf = (o: TrainingOutcome): number =>
  o.kind === 'failed' ? 1 : o.result.decision === 'accepted' ? 0 : 3;
