import { readFile } from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import {
  FailureType, HoldoutSet, ReleaseManifest, SmokeSet, latestKey, releaseKey,
  type CandidateRef, type Check, type SweepReport, type GateComparison, type MachineAttempt, type Metrics, type PlotFile, type TensorSpec,
} from '@cd4ml/contracts';
import { readManifest } from './baseline.ts';
import { renderReport } from './report.ts';
import { sweepPlot } from './sweep-report.ts';
import type { ReleaseStore } from '@cd4ml/stores';

export interface PublishInput {
  project: string;
  tag: string;
  git: { repoUrl: string; branch: string; commit: string; tagCommit: string };
  candidate: CandidateRef;
  checks: Check[];
  /** As the gate measured them; absent from trainings started before it did (the candidate's reported ones are used). */
  metrics?: Metrics;
  comparison?: GateComparison;
  /** The gate's plots, staged beside the candidate. */
  plots?: PlotFile[];
  baseline: { tag: string; metrics: Metrics } | null;
  model: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  /** The training image, by the digest the registry gave; absent when training ran without one. */
  image?: { ref: string; digest: string };
  location: string;
  machine: { provider: string; instanceType: string | null; seconds: number; estimatedCost: number | null };
  /** Every machine the training ran on, when it ran on more than one (a reclaimed spot instance, then its replacement). */
  attempts?: MachineAttempt[];
  durations: Record<string, number>;
  requestedBy: string;
  reason: string;
  /** A sweep's best trial: the report gets the trial table and the plot of the metric per setting. */
  sweep?: SweepReport;
}

/**
 * Publishes an accepted candidate: model, report, then release.json, then
 * latest.json, each written atomically, so a reader never sees a release
 * without its model. Publishing the same training again changes nothing.
 */
export async function publishRelease(store: ReleaseStore, input: PublishInput): Promise<{ key: string }> {
  const key = releaseKey(input.project, input.tag);
  const existing = await readManifest(store, input.project, input.tag);
  if (existing) {
    if (existing.git.commit === input.git.commit && existing.model.sha256 === input.candidate.model.sha256) {
      await store.putText(latestKey(input.project), JSON.stringify({ tag: input.tag }) + '\n');
      return { key };
    }
    throw ApplicationFailure.nonRetryable(
      `release ${key} already exists from commit ${existing.git.commit.slice(0, 8)}: choose another release tag`,
      FailureType.ReleaseConflict,
    );
  }
  const read = async (file: string) => JSON.parse(await readFile(await store.localFile(`${input.candidate.key}/${file}`), 'utf8'));
  const smoke = SmokeSet.parse(await read(input.candidate.files.smoke));
  const holdout = HoldoutSet.parse(await read(input.candidate.files.holdout));

  const manifest: ReleaseManifest = ReleaseManifest.parse({
    schemaVersion: 1,
    tag: input.tag,
    project: input.project,
    createdAt: new Date().toISOString(),
    git: input.git,
    data: input.candidate.data,
    params: input.candidate.params,
    metrics: input.metrics ?? input.candidate.metrics,
    ...(input.metrics ? { reportedMetrics: input.candidate.metrics } : {}),
    ...(input.comparison ? { gate: input.comparison } : {}),
    ...(input.plots?.length ? { plots: input.plots } : {}),
    baseline: input.baseline,
    checks: input.checks,
    model: {
      file: 'model.onnx',
      sha256: input.candidate.model.sha256,
      bytes: input.candidate.model.bytes,
      inputs: input.model.inputs,
      outputs: input.model.outputs,
      features: holdout.features,
      classes: holdout.classes,
    },
    smoke,
    image: input.image ?? null,
    location: input.location,
    machine: input.machine,
    ...(input.attempts ? { attempts: input.attempts } : {}),
    durations: input.durations,
    requestedBy: input.requestedBy,
    reason: input.reason,
  });
  await store.copy(`${input.candidate.key}/${input.candidate.files.model}`, `${key}/model.onnx`);
  for (const plot of input.plots ?? []) await store.copy(`${input.candidate.key}/${plot.file}`, `${key}/${plot.file}`);
  if (input.sweep) {
    const plot = await sweepPlot(input.sweep);
    await store.putText(`${key}/${plot.file}`, plot.svg);
  }
  await store.putText(`${key}/report.md`, renderReport(manifest, input.sweep));
  await store.putText(`${key}/release.json`, JSON.stringify(manifest, null, 2) + '\n');
  await store.putText(latestKey(input.project), JSON.stringify({ tag: input.tag }) + '\n');
  await store.removePrefix(input.candidate.key);
  return { key };
}
