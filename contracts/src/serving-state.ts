import { z } from 'zod';

// <store>/<project>/serving.json: what the serving replicas serve. Written by
// `cd4ml release promote|rollback` and by the replicas as a rollout advances;
// every replica reads it each poll, so a change is live within a poll or two.

const durationText = z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration such as 90s, 10m or 2h');

export const ROLLOUT_MODES = ['direct', 'canary', 'shadow'] as const;

export const RolloutConfig = z.object({
  /** direct: all traffic at once; canary: step by step shares; shadow: a copy of live traffic, answers never returned. */
  mode: z.enum(ROLLOUT_MODES).default('canary'),
  /** Percent of requests the candidate takes at each step (canary); the last step must be 100. */
  steps: z.array(z.number().gt(0, 'a step is a percentage above 0').max(100, 'a step is at most 100 (percent)')).min(1).default([5, 25, 100]),
  /** How long each step (or the whole shadow run) lasts before the next decision. */
  stepTime: durationText.default('10m'),
  /** Highest share of the candidate's requests that may fail (0..1). */
  maxErrorRate: z.number().min(0, 'a rate between 0 and 1').max(1, 'a rate between 0 and 1').default(0.01),
  /** Highest p99 latency of the candidate, ms. */
  maxP99Ms: z.number().positive('a latency in ms above 0').default(50),
  /** Largest shift of the output distribution against live (total variation of class shares, or relative change of the mean), 0..1. */
  maxOutputShift: z.number().min(0, 'a shift between 0 and 1').max(1, 'a shift between 0 and 1').default(0.1),
  /** Requests the candidate must have answered in a step before it can be judged. */
  minRequests: z.number().int().min(1, 'at least 1 request').default(20),
  /** Shadow: share of requests whose answers must agree with live before the candidate is promoted (0..1). */
  minAgreement: z.number().min(0, 'a share between 0 and 1').max(1, 'a share between 0 and 1').default(0.95),
}).strict().superRefine((r, ctx) => {
  if (r.steps.at(-1) !== 100) ctx.addIssue({ code: 'custom', path: ['steps'], message: `the last step must be 100 (percent), got ${JSON.stringify(r.steps)}` });
  for (let i = 1; i < r.steps.length; i++) {
    if (r.steps[i]! <= r.steps[i - 1]!) ctx.addIssue({ code: 'custom', path: ['steps', i], message: `steps must rise, got ${r.steps[i - 1]} then ${r.steps[i]}` });
  }
});
export type RolloutConfig = z.infer<typeof RolloutConfig>;

/** A candidate's figures over one window, beside live's over the same window. */
export const RolloutFigures = z.object({
  requests: z.number(),
  errorRate: z.number(),
  p99Ms: z.number().nullable(),
  liveRequests: z.number(),
  liveErrorRate: z.number(),
  liveP99Ms: z.number().nullable(),
  outputShift: z.number().nullable(),
  agreement: z.number().nullable(),
});
export type RolloutFigures = z.infer<typeof RolloutFigures>;

export const Candidate = z.object({
  tag: z.string(),
  rollout: RolloutConfig,
  /** Index into rollout.steps (canary); 0 for shadow. */
  step: z.number().int().min(0),
  startedAt: z.string(),
  stepStartedAt: z.string(),
  figures: RolloutFigures.nullable().default(null),
});
export type Candidate = z.infer<typeof Candidate>;

export const SERVING_ACTIONS = ['promote', 'start', 'advance', 'complete', 'rollback', 'abort', 'refused'] as const;

export const ServingDecision = z.object({
  at: z.string(),
  action: z.enum(SERVING_ACTIONS),
  tag: z.string(),
  /** The release live before, when it changed. */
  from: z.string().nullable().default(null),
  by: z.string(),
  reason: z.string(),
  figures: RolloutFigures.nullable().default(null),
});
export type ServingDecision = z.infer<typeof ServingDecision>;

export const ServingState = z.object({
  schemaVersion: z.literal(1),
  project: z.string(),
  live: z.string().nullable(),
  /** Earlier live releases, newest last: `release rollback` goes back to the last one. */
  previous: z.array(z.string()).default([]),
  candidate: Candidate.nullable().default(null),
  history: z.array(ServingDecision).default([]),
  updatedAt: z.string(),
});
export type ServingState = z.infer<typeof ServingState>;

export const servingKey = (project: string): string => `${project}/serving.json`;

/** Most decisions kept in serving.json (older ones drop off). */
export const MAX_SERVING_HISTORY = 200;
