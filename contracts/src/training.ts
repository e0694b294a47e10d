import { z } from 'zod';
import { RepoUrl } from './repo-url.ts';
import type { ImageResult } from './image.ts';
import type { MachineAttempt } from './spot.ts';
import type { TrialCandidate } from './sweep.ts';

// Also what `git check-ref-format` refuses: "..", a trailing "." or ".lock".
const tagPattern = /^(?!.*\.\.)(?!.*\.$)(?!.*\.lock$)[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A sweep's trial: its parameter setting on top of params.yaml; it gates and stages its candidate but never tags or releases. */
export const TrialSpec = z.object({
  /** The sweep's workflow id. */
  sweep: z.string(),
  /** 1-based number of the trial in the sweep. */
  n: z.number().int().min(1),
  params: z.record(z.string(), z.unknown()),
});
export type TrialSpec = z.infer<typeof TrialSpec>;

export const TrainingRequest = z.object({
  project: z.string().min(1),
  repoUrl: RepoUrl,
  branch: z.string().min(1).default('main'),
  /** Full or abbreviated sha; absent means the branch head when the run starts. */
  commit: z.string().regex(/^[0-9a-f]{4,40}$/, 'a hex commit sha').optional(),
  releaseTag: z.string().regex(tagPattern, 'a git tag: letters, digits, ".", "_" or "-"'),
  location: z.string().min(1),
  requestedBy: z.string().default('unknown'),
  reason: z.string().default(''),
  configPath: z.string().default('cd4ml.yaml'),
  trial: TrialSpec.optional(),
  /** USD: the training is stopped once its machine time x the location's hourlyPrice passes it. */
  budget: z.number().positive().optional(),
});
export type TrainingRequest = z.infer<typeof TrainingRequest>;
export type TrainingRequestInput = z.input<typeof TrainingRequest>;

export const Stage = z.enum([
  'queued', 'resolve', 'lease', 'image', 'start-machine', 'checkout', 'dvc-pull', 'dvc-repro',
  'custom-checks', 'stage-candidate', 'evaluate', 'dvc-push', 'tag', 'publish', 'release-page', 'stop-machine', 'done',
]);
export type Stage = z.infer<typeof Stage>;

export const Check = z.object({ name: z.string(), passed: z.boolean(), detail: z.string() });
export type Check = z.infer<typeof Check>;

export type Metrics = Record<string, number | number[]>;

/**
 * How the candidate compared with the release it would replace: cd4ml ran both
 * models on the candidate's holdout and measured the gate's metric itself. When the
 * baseline's model could not be scored, `scoredOn` is 'reported' and `warning` says why.
 */
export const GateComparison = z.object({
  task: z.enum(['classification', 'regression']),
  metric: z.string(),
  policy: z.enum(['not-worse', 'better']),
  margin: z.number(),
  baselineTag: z.string().nullable(),
  scoredOn: z.enum(['models', 'reported', 'none']),
  candidate: z.number().nullable(),
  baseline: z.number().nullable(),
  /** candidate - baseline on the holdout, and its paired bootstrap interval. */
  difference: z.number().nullable(),
  lo: z.number().nullable(),
  hi: z.number().nullable(),
  confidence: z.number(),
  rows: z.number().int(),
  resamples: z.number().int(),
  seed: z.number().int(),
  /** Exact McNemar p-value of the paired accuracy (classification). */
  mcnemarP: z.number().optional(),
  warning: z.string().optional(),
});
export type GateComparison = z.infer<typeof GateComparison>;

/** A plot stored with the release, e.g. plots/confusion-matrix.svg. */
export const PlotFile = z.object({ file: z.string(), title: z.string() });
export type PlotFile = z.infer<typeof PlotFile>;

export interface GateDecision {
  accepted: boolean;
  reasons: string[];
  checks: Check[];
  /** The candidate's metrics as cd4ml measured them on the holdout (the training code's own: reportedMetrics). */
  metrics: Metrics;
  /** The baseline's metrics on the same holdout rows (or, when its model could not be scored, as recorded with it). */
  baseline: { tag: string; metrics: Metrics } | null;
  /** metrics.json: what the training code reported. */
  reportedMetrics?: Metrics;
  comparison?: GateComparison;
  plots?: PlotFile[];
}

/** Answer of the `progress` query: where a training is, for the CLI and the Web UI. */
export interface TrainingProgress {
  stage: Stage;
  stageStartedAt: number;
  /** Set while the run waits for a busy location: the holder's workflow id. */
  waitingFor?: string;
  stages: { stage: Stage; startedAt: number; endedAt?: number }[];
  /** What a person should know about this run, e.g. that it started over on another worker. */
  notes?: string[];
}

export interface TrainingResult {
  decision: 'accepted' | 'rejected';
  reasons: string[];
  releaseTag: string;
  commit: string;
  checks: Check[];
  metrics: Metrics;
  baseline: { tag: string; metrics: Metrics } | null;
  reportedMetrics?: Metrics;
  comparison?: GateComparison;
  /** Seconds spent per stage. */
  durations: Partial<Record<Stage, number>>;
  /** From switching the machine on to the stop call. */
  machineSeconds: number;
  /** machineSeconds x the location's hourlyPrice (USD); null when no price is configured. */
  estimatedCost: number | null;
  /** The training image it ran in; absent when cd4ml.yaml names none. */
  image?: ImageResult;
  /** Where the release was published; absent when rejected. */
  release?: { store: string; key: string; tagCommit: string };
  /**
   * The GitLab release page, when cd4ml.yaml has a `gitlab` section. A page that
   * could not be written is a warning: the release itself is published.
   */
  releasePage?: { published: true; url: string } | { published: false; failureType: string; error: string };
  /** Every machine the training ran on, oldest first (a reclaimed spot instance, then its replacement). */
  attempts?: MachineAttempt[];
  /** What happened on the way that a person should know, e.g. a lost worker and the restart from checkout. */
  notes?: string[];
  /** A sweep trial's machine (absent outside sweeps). */
  machine?: { provider: string; instanceType: string | null };
  /** A sweep trial the gate accepted: its staged candidate, for the sweep to release or discard. */
  trial?: TrialCandidate;
}

/** Machine cost estimate in USD: seconds x the location's hourly price; null when no price is configured. */
export const estimatedCost = (seconds: number, hourlyPrice: number | undefined): number | null =>
  hourlyPrice === undefined ? null : (seconds / 3600) * hourlyPrice;
