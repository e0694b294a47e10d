import {
  CancellationScope, ChildWorkflowFailure, ParentClosePolicy, condition, executeChild, isCancellation,
  proxyActivities, setCurrentDetails, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities, SweepPlan } from '@cd4ml/activities';
import { describeSetting } from '@cd4ml/contracts/sweep-params';
import { trialTag, type SweepRequestInput, type SweepResult, type SweepStatus, type SweepTrialStatus } from '@cd4ml/contracts/sweep';
import type { TrainingRequestInput, TrainingResult } from '@cd4ml/contracts/training';
import { retry, surfaced } from './activity-options.ts';
import { trainModel } from './train-model.ts';
import { sweepStatusQuery } from './sweep-query.ts';
import { bestTrial, budgetRefusal, endedRow, initialStatus, spent, sweepSummary } from './sweep-trials.ts';

const control = proxyActivities<ControlActivities>({ startToCloseTimeout: '2 minutes', retry });

/**
 * A sweep, id `sweep/<project>/<tag>`: one child training per parameter setting, at most
 * `parallel` at a time, each gated but not released; then the best accepted candidate is
 * released under the sweep's tag and the others are discarded.
 */
export async function sweep(request: SweepRequestInput): Promise<SweepResult> {
  const plan = await control.resolveSweep(request).catch((err: unknown) => {
    throw surfaced(err);
  });
  const status = initialStatus(plan, workflowInfo().workflowId);
  setHandler(sweepStatusQuery, () => status);
  const results = new Map<number, TrainingResult>();

  await runTrials(plan, status, results);
  const best = bestTrial(status);
  const release = best ? await releaseBest(plan, best, results.get(best.n)!) : undefined;
  if (best) status.best = best.n;
  await discardTheRest(plan, status, results);
  status.state = release ? 'released' : 'nothing-released';
  status.summary = sweepSummary(status);
  setCurrentDetails(`**sweep ${plan.request.project} ${plan.request.releaseTag}**: ${status.summary}`);
  return { ...status, ...(release ? { release } : {}) };
}

/** Starts the trials in order, at most `parallel` at once, skipping those the budget does not allow. */
async function runTrials(plan: SweepPlan, status: SweepStatus, results: Map<number, TrainingResult>): Promise<void> {
  let running = 0;
  const ended: Promise<void>[] = [];
  try {
    for (const trial of status.trials) {
      await condition(() => running < plan.parallel);
      const refusal = budgetRefusal(plan, status, trial);
      if (refusal) {
        trial.state = 'skipped';
        trial.reason = refusal;
        continue;
      }
      running++;
      ended.push(runTrial(plan, status, trial, results).finally(() => void running--));
    }
    await Promise.all(ended);
  } catch (err) {
    // Cancelled: the trials are cancelled with the sweep; wait until each has switched its machine off.
    if (isCancellation(err)) await CancellationScope.nonCancellable(() => Promise.allSettled(ended));
    throw err;
  }
}

/** One trial as a child training; its failure is the trial's, not the sweep's. */
async function runTrial(plan: SweepPlan, status: SweepStatus, trial: SweepTrialStatus, results: Map<number, TrainingResult>): Promise<void> {
  trial.state = 'running';
  const started = Date.now();
  try {
    const result = await executeChild(trainModel, {
      workflowId: trial.workflowId,
      args: [trialRequest(plan, status, trial)],
      // A sweep that goes away takes its trials with it, and they still switch their machines off.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    results.set(trial.n, result);
    endedRow(trial, plan.metric, result);
  } catch (err) {
    if (isCancellation(err)) {
      trial.state = 'cancelled';
      throw err;
    }
    trial.state = 'failed';
    trial.reason = err instanceof ChildWorkflowFailure && err.cause ? err.cause.message : String(err);
    // No result to read the cost from: count its time at the location's price, the most it can have cost.
    const price = plan.locations.find((l) => l.name === trial.location)?.hourlyPrice;
    trial.cost = typeof price === 'number' ? ((Date.now() - started) / 3_600_000) * price : null;
  } finally {
    status.spent = spent(status);
  }
}

function trialRequest(plan: SweepPlan, status: SweepStatus, trial: SweepTrialStatus): TrainingRequestInput {
  const { request } = plan;
  return {
    project: request.project, repoUrl: request.repoUrl, branch: request.branch, commit: plan.commit, configPath: request.configPath,
    releaseTag: trialTag(request.releaseTag, trial.n), location: trial.location, requestedBy: request.requestedBy,
    reason: `sweep ${request.releaseTag} trial ${trial.n}: ${describeSetting(trial.setting)}`,
    trial: { sweep: status.workflowId, n: trial.n, params: trial.setting },
  };
}

/** The best candidate released under the sweep's tag, on the commit holding its params.yaml and dvc.lock. */
async function releaseBest(plan: SweepPlan, best: SweepTrialStatus, result: TrainingResult): Promise<SweepResult['release']> {
  const { request } = plan;
  const trial = result.trial!;
  const setting = describeSetting(best.setting);
  const { tagCommit } = await control.tagTrial({
    repoUrl: request.repoUrl, tag: request.releaseTag, ref: trial.ref, paramsCommit: trial.paramsCommit,
    message: `cd4ml release ${request.releaseTag}: sweep trial ${best.n} (${setting}), ${plan.metric} ${String(best.metric)}`,
  });
  const durations = Object.fromEntries(Object.entries(result.durations).filter((e): e is [string, number] => typeof e[1] === 'number'));
  const published = await control.publishRelease({
    store: plan.store, project: request.project, tag: request.releaseTag,
    git: { repoUrl: request.repoUrl, branch: request.branch, commit: plan.commit, tagCommit },
    candidate: trial.candidate, checks: result.checks, metrics: result.metrics,
    ...(result.comparison ? { comparison: result.comparison } : {}),
    ...(trial.plots ? { plots: trial.plots } : {}),
    baseline: result.baseline, model: trial.model,
    ...(result.image ? { image: { ref: result.image.ref, digest: result.image.digest } } : {}),
    location: best.location, machine: trial.machine, durations,
    requestedBy: request.requestedBy,
    reason: `${request.reason ? `${request.reason}\n\n` : ''}sweep ${request.releaseTag}: best of ${plan.settings.length} trials, trial ${best.n} (${setting})`,
  });
  best.state = 'released';
  return { store: plan.store, key: published.key, tagCommit };
}

/** Every other accepted candidate leaves the store; every trial's git ref goes (the tag keeps the best's commit). */
async function discardTheRest(plan: SweepPlan, status: SweepStatus, results: Map<number, TrainingResult>): Promise<void> {
  const refs: string[] = [];
  for (const t of status.trials) {
    const staged = results.get(t.n)?.trial;
    if (!staged) continue;
    refs.push(staged.ref);
    if (t.state !== 'accepted') continue;
    await control.discardCandidate({ store: plan.store, key: staged.candidate.key });
    t.state = 'discarded';
  }
  if (refs.length) await control.removeTrialRefs({ repoUrl: plan.request.repoUrl, refs });
}
