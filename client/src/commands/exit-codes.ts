import type { TrainingOutcome } from '../start-training.ts';

/** 0 released, 3 rejected by the gate (a CI job should fail), 1 the run failed. */
export const exitCodeOf = (o: TrainingOutcome): number =>
  o.kind === 'failed' ? 1 : o.result.decision === 'accepted' ? 0 : 3;

/** init and check: 0 done, 1 dvc repro failed, 2 bad input (no dvc.yaml, no or an invalid cd4ml.yaml, a bad flag), 3 outputs not as cd4ml needs them. */
export const PROJECT_EXIT = { ok: 0, failed: 1, badInput: 2, outputsInvalid: 3 } as const;
