import { z } from 'zod';
import { TrainingRequest } from './training.ts';
import type { CandidateRef } from './candidate.ts';
import type { TensorSpec } from './tensor.ts';
import type { PlotFile } from './training.ts';
import type { SweepSetting } from './sweep-params.ts';

// A sweep: one parent workflow `sweep/<project>/<tag>`, one child training (a trial) per
// parameter setting, the best accepted candidate released under the sweep's tag.

export const SweepRequest = TrainingRequest.pick({
  project: true, repoUrl: true, branch: true, commit: true, releaseTag: true, requestedBy: true, reason: true, configPath: true,
}).extend({
  /** Where trials run when neither the request nor the named sweep lists locations. */
  location: z.string().min(1).default('local'),
  /** Several locations: trials are spread over them in turn. */
  locations: z.array(z.string().min(1)).min(1).optional(),
  /** Dotted key -> values (from --grid); or `sweep` names a cd4ml.yaml sweeps.<name>. */
  grid: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  sweep: z.string().optional(),
  random: z.object({ count: z.number().int().min(1), seed: z.number().int().default(0) }).optional(),
  parallel: z.number().int().min(1).max(64).optional(),
  /** USD: no trial starts once the spend so far plus one trial's expected cost would pass it. */
  budget: z.number().positive().optional(),
  /** A trial's expected machine time before any has finished (for the budget); default: the location's maxRuntime. */
  trialEstimate: z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration such as 90s, 15m or 2h').optional(),
});
export type SweepRequest = z.infer<typeof SweepRequest>;
export type SweepRequestInput = z.input<typeof SweepRequest>;


/** The git ref an accepted trial pushes its params.yaml + dvc.lock commit to (not a tag: only the best becomes one). */
export const trialGitRef = (project: string, trialTag: string): string => `refs/cd4ml/trials/${project}/${trialTag}`;
/** `v2.0-trial-3`: names the trial's staged candidate and its git ref. */
export const trialTag = (sweepTag: string, n: number): string => `${sweepTag}-trial-${n}`;

/** An accepted trial's staged candidate: everything the sweep needs to release it later. */
export interface TrialCandidate {
  candidate: CandidateRef;
  /** The commit holding the trial's params.yaml and dvc.lock on top of the trained one, and its ref. */
  paramsCommit: string;
  ref: string;
  model: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  plots?: PlotFile[];
  machine: { provider: string; instanceType: string | null; seconds: number; estimatedCost: number | null };
}

export type TrialState = 'queued' | 'running' | 'accepted' | 'rejected' | 'failed' | 'cancelled' | 'skipped' | 'released' | 'discarded';

export interface SweepTrialStatus {
  n: number;
  workflowId: string;
  setting: SweepSetting;
  location: string;
  state: TrialState;
  /** The gate metric as cd4ml measured it on the holdout. */
  metric?: number | null;
  /** The gate's interval of (candidate - baseline) on the same holdout rows; null without a baseline. */
  interval?: { lo: number; hi: number; confidence: number } | null;
  cost?: number | null;
  machine?: string;
  /** Why it was rejected, failed or skipped. */
  reason?: string;
}

export interface SweepStatus {
  workflowId: string;
  releaseTag: string;
  metric: string;
  higherIsBetter: boolean;
  parallel: number;
  budget: number | null;
  /** USD spent so far by ended trials (null when no location has an hourlyPrice). */
  spent: number | null;
  state: 'running' | 'released' | 'nothing-released';
  trials: SweepTrialStatus[];
  /** The released trial's number. */
  best?: number;
  summary?: string;
}

export interface SweepResult extends SweepStatus {
  release?: { store: string; key: string; tagCommit: string };
}
