import { z } from 'zod';
import { TensorSpec, Tensor } from './tensor.ts';
import { Check, GateComparison, PlotFile } from './training.ts';
import { MachineAttempt } from './spot.ts';

const metricValue = z.union([z.number(), z.array(z.number())]);

// <store>/<project>/<tag>/release.json. Serving trusts nothing it has not
// checked against this: the model's sha256 and the smoke outputs.
export const ReleaseManifest = z.object({
  schemaVersion: z.literal(1),
  tag: z.string(),
  project: z.string(),
  createdAt: z.string(),
  git: z.object({ repoUrl: z.string(), branch: z.string(), commit: z.string(), tagCommit: z.string() }),
  data: z.record(z.string(), z.string()),
  params: z.record(z.string(), z.unknown()),
  /** As cd4ml measured them on the holdout; before cd4ml 0.3, what metrics.json reported. */
  metrics: z.record(z.string(), metricValue),
  /** metrics.json, as the training code reported it (absent before cd4ml 0.3). */
  reportedMetrics: z.record(z.string(), metricValue).optional(),
  /** The gate's comparison with the baseline (absent before cd4ml 0.3). */
  gate: GateComparison.optional(),
  /** Plots stored with the release, linked from report.md. */
  plots: z.array(PlotFile).optional(),
  baseline: z.object({ tag: z.string(), metrics: z.record(z.string(), metricValue) }).nullable(),
  checks: z.array(Check),
  model: z.object({
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().positive(),
    inputs: z.array(TensorSpec),
    outputs: z.array(TensorSpec),
    features: z.array(z.string()).optional(),
    classes: z.array(z.string()).optional(),
  }),
  smoke: z.object({
    inputs: z.array(Tensor),
    expectedOutputs: z.array(Tensor),
    tolerance: z.number().nonnegative(),
  }),
  image: z.object({ ref: z.string(), digest: z.string() }).nullable(),
  location: z.string(),
  machine: z.object({
    provider: z.string(),
    instanceType: z.string().nullable(),
    /** Machine time up to publishing (the release is written before the machine is switched off). */
    seconds: z.number(),
    /** seconds x the location's hourlyPrice, USD; null without a price. Absent in releases before cd4ml 0.2. */
    estimatedCost: z.number().nullable().optional(),
  }),
  /** Every machine the training ran on (a reclaimed spot instance, then its replacement). Absent before spot resume. */
  attempts: z.array(MachineAttempt).optional(),
  durations: z.record(z.string(), z.number()),
  requestedBy: z.string(),
  reason: z.string(),
});
export type ReleaseManifest = z.infer<typeof ReleaseManifest>;

/** <store>/<project>/latest.json */
export const LatestPointer = z.object({ tag: z.string() });
export type LatestPointer = z.infer<typeof LatestPointer>;

export const releaseKey = (project: string, tag: string): string => `${project}/${tag}`;
export const latestKey = (project: string): string => `${project}/latest.json`;
export const candidateKey = (project: string, tag: string): string => `${project}/.candidates/${tag}`;

/** The files of a release that its GitLab page links to, with GitLab's link type for each. */
export const RELEASE_PAGE_LINKS = [
  { file: 'model.onnx', linkType: 'package' },
  { file: 'release.json', linkType: 'other' },
  { file: 'report.md', linkType: 'other' },
] as const;

/**
 * Where a browser finds a stored file: under `artifactsUrl` (the store served
 * over http) when given, else for an s3:// store the S3 console, which works
 * for private buckets. A folder has no url of its own: null.
 */
export function artifactUrl(store: string, key: string, artifactsUrl?: string): string | null {
  const path = key.split('/').map(encodeURIComponent).join('/');
  if (artifactsUrl) return `${artifactsUrl.replace(/\/+$/, '')}/${path}`;
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(store);
  if (!s3) return null;
  const objectKey = [s3[2]!.replace(/\/+$/, ''), key].filter(Boolean).join('/');
  return `https://s3.console.aws.amazon.com/s3/object/${s3[1]}?prefix=${encodeURIComponent(objectKey)}`;
}
