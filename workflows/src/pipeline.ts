import { proxyActivities } from '@temporalio/workflow';
import type { CheckoutRef, ControlActivities, Evaluation, Machine, TrainingPlan } from '@cd4ml/activities';
import { estimatedCost, type Check, type TrainingResult } from '@cd4ml/contracts/training';
import type { CandidateRef } from '@cd4ml/contracts/candidate';
import { describeSetting } from '@cd4ml/contracts/sweep-params';
import { trialGitRef } from '@cd4ml/contracts/sweep';
import { pinnedRef, type ImageResult } from '@cd4ml/contracts/image';
import { durationMs } from '@cd4ml/contracts/config';
import { checkpointKey } from '@cd4ml/contracts/spot';
import { retry } from './activity-options.ts';
import { attemptsSoFar, totalOf, type ResumeFrom } from './spot-resume.ts';
import type { LocationSteps } from './on-location.ts';
import type { ProgressTracker } from './progress.ts';

const control = proxyActivities<ControlActivities>({ startToCloseTimeout: '2 minutes', retry });
const gate = proxyActivities<ControlActivities>({ startToCloseTimeout: '10 minutes', retry });

export interface PipelineRun {
  plan: TrainingPlan;
  machine: Machine;
  image: ImageResult | undefined;
  progress: ProgressTracker;
  /** On the replacement of a reclaimed spot instance: the machines before it. */
  resume?: ResumeFrom;
}

/**
 * The CD4ML pipeline after the checkout: data, training, the gate, and for an
 * accepted model the artifacts, the tag and the release. `steps` all go to the
 * worker that holds the checkout.
 */
export async function runPipeline(run: PipelineRun, { steps, repro }: LocationSteps): Promise<TrainingResult> {
  const { plan, progress, image } = run;
  const { request: req, config } = plan;
  const ref: CheckoutRef = { project: req.project, projectDir: plan.projectDir };

  // repro.checkpoint: saved by a reclaimed spot instance, put back on its replacement.
  const checkpoint = config.repro.checkpoint
    ? { checkpoint: { path: config.repro.checkpoint, store: plan.store, key: checkpointKey(req.project, req.releaseTag) } } : {};
  progress.enter('dvc-pull');
  const { dvcFiles } = await steps.dvcPull({ ...ref, ...(run.resume ? { resume: checkpoint } : {}) });
  const inImage = image && config.image ? { image: { pinnedRef: pinnedRef(image), run: config.image.run } } : {};
  progress.enter('dvc-repro');
  // A sweep's trial trains its own setting: set on top of params.yaml, as dvc exp run --set-param.
  if (req.trial) await steps.setParams({ ...ref, params: req.trial.params });
  // The store keeps the stage's output for `cd4ml logs`; only its key is derived, nothing enters history.
  await repro.dvcRepro({
    ...ref, timeoutMs: durationMs(config.repro.timeout), ...inImage, logStore: plan.store, ...checkpoint, ...(run.resume ? { resume: true } : {}),
  });
  // gate.checks is newer than every recorded history, so older runs schedule nothing here.
  let customChecks: Check[] = [];
  if (config.gate.checks?.length) {
    progress.enter('custom-checks');
    customChecks = await repro.customChecks({ ...ref, checks: config.gate.checks, ...inImage });
  }
  progress.enter('stage-candidate');
  const candidate = await steps.stageCandidate({ ...ref, store: plan.store, tag: req.releaseTag, outputs: config.outputs, dvcFiles });

  progress.enter('evaluate');
  const evaluation = await gate.evaluateCandidate({ project: req.project, candidate, gate: config.gate, customChecks });
  if (!evaluation.accepted) {
    await control.discardCandidate({ store: plan.store, key: candidate.key });
    return resultOf(run, evaluation, {});
  }
  // A trial never tags or releases: its sweep releases the best candidate once every trial has ended.
  if (req.trial) return stageTrial(run, steps, candidate, evaluation);
  return release(run, steps, candidate, evaluation);
}

/**
 * An accepted trial: artifacts to the DVC remote and its params.yaml + dvc.lock to a
 * git ref of its own while its machine is on; the candidate stays staged in the store.
 */
async function stageTrial(run: PipelineRun, steps: LocationSteps['steps'], candidate: CandidateRef, evaluation: Evaluation): Promise<TrainingResult> {
  const { plan, progress, machine } = run;
  const { request: req, config, commit } = plan;
  const ref: CheckoutRef = { project: req.project, projectDir: plan.projectDir };
  progress.enter('dvc-push');
  await steps.dvcPush(ref);
  progress.enter('tag');
  const gitRef = trialGitRef(req.project, req.releaseTag);
  const { paramsCommit } = await steps.commitTrial({
    ...ref, commit, ref: gitRef,
    message: `cd4ml trial ${req.releaseTag}: ${describeSetting(req.trial!.params)}\n\n${config.gate.metric} ${String(evaluation.metrics[config.gate.metric])}`,
  });
  const seconds = (Date.now() - machine.startedAt) / 1000;
  return resultOf(run, evaluation, {
    trial: {
      candidate, paramsCommit, ref: gitRef, model: evaluation.model,
      ...(evaluation.plots ? { plots: evaluation.plots } : {}),
      machine: { provider: machine.provider, instanceType: machine.instanceType, seconds, estimatedCost: estimatedCost(seconds, machine.hourlyPrice) },
    },
  });
}

/** An accepted candidate: its artifacts to the DVC remote, the git tag, then the release in the store. */
async function release(run: PipelineRun, steps: LocationSteps['steps'], candidate: CandidateRef, evaluation: Evaluation): Promise<TrainingResult> {
  const { plan, progress, machine, image } = run;
  const { request: req, config, commit } = plan;
  const ref: CheckoutRef = { project: req.project, projectDir: plan.projectDir };
  progress.enter('dvc-push');
  await steps.dvcPush(ref);
  progress.enter('tag');
  const { tagCommit } = await steps.tagRelease({
    ...ref, commit, tag: req.releaseTag,
    message: `cd4ml release ${req.releaseTag}: ${config.gate.metric} ${String(evaluation.metrics[config.gate.metric])}${req.reason ? `\n\n${req.reason}` : ''}`,
  });
  progress.enter('publish');
  // Every machine the training ran on, up to publishing (one, unless spot instances were reclaimed).
  const attempts = attemptsSoFar(run.resume, machine);
  const machineSeconds = attempts ? totalOf(attempts).seconds : (Date.now() - machine.startedAt) / 1000;
  const published = await control.publishRelease({
    store: plan.store,
    project: req.project,
    tag: req.releaseTag,
    git: { repoUrl: req.repoUrl, branch: req.branch, commit, tagCommit },
    candidate,
    checks: evaluation.checks,
    metrics: evaluation.metrics,
    ...(evaluation.comparison ? { comparison: evaluation.comparison } : {}),
    ...(evaluation.plots ? { plots: evaluation.plots } : {}),
    baseline: evaluation.baseline,
    model: evaluation.model,
    ...(image ? { image: { ref: image.ref, digest: image.digest } } : {}),
    location: req.location,
    // Up to publishing: the release is written while the machine is still on.
    machine: {
      provider: machine.provider, instanceType: machine.instanceType, seconds: machineSeconds,
      estimatedCost: attempts ? totalOf(attempts).estimatedCost : estimatedCost(machineSeconds, machine.hourlyPrice),
    },
    ...(attempts ? { attempts } : {}),
    durations: progress.durations(),
    requestedBy: req.requestedBy,
    reason: req.reason,
  });
  return resultOf(run, evaluation, { release: { store: plan.store, key: published.key, tagCommit } });
}

function resultOf(run: PipelineRun, evaluation: Evaluation, extra: Partial<TrainingResult>): TrainingResult {
  return {
    decision: evaluation.accepted ? 'accepted' : 'rejected',
    reasons: evaluation.reasons,
    releaseTag: run.plan.request.releaseTag,
    commit: run.plan.commit,
    checks: evaluation.checks,
    metrics: evaluation.metrics,
    baseline: evaluation.baseline,
    ...(evaluation.reportedMetrics ? { reportedMetrics: evaluation.reportedMetrics } : {}),
    ...(evaluation.comparison ? { comparison: evaluation.comparison } : {}),
    durations: run.progress.durations(),
    machineSeconds: (Date.now() - run.machine.startedAt) / 1000,
    estimatedCost: null,
    ...(run.image ? { image: run.image } : {}),
    // A sweep's table names each trial's machine, accepted or not.
    ...(run.plan.request.trial ? { machine: { provider: run.machine.provider, instanceType: run.machine.instanceType } } : {}),
    ...extra,
  };
}
