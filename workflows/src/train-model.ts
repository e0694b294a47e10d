import {
  CancellationScope, condition, getExternalWorkflowHandle, isCancellation, proxyActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities, TrainingPlan } from '@cd4ml/activities';
import type { TrainingRequestInput, TrainingResult } from '@cd4ml/contracts/training';
import type { ImageResult } from '@cd4ml/contracts/image';
import { durationMs, launchesInstances } from '@cd4ml/contracts/config';
import { locationTaskQueue, locationWorkflowId } from '@cd4ml/contracts/ids';
import { imageActivities, retry, surfaced } from './activity-options.ts';
import { grantedSignal, releaseSignal } from './location-lease.ts';
import { ProgressTracker } from './progress.ts';
import { publishReleasePageOrWarn } from './release-page.ts';
import { TrainingMachine, whileMachineRuns, withinMaxRuntime } from './training-machine.ts';
import { onLocation } from './on-location.ts';
import { runPipeline } from './pipeline.ts';
import { withinBudget } from './training-budget.ts';
import { totalOf, trainingAttempts, withSpotResume } from './spot-resume.ts';
import { setSearchAttributes } from './search-attributes.ts';

const control = proxyActivities<ControlActivities>({ startToCloseTimeout: '2 minutes', retry });

/** The GitLab release page: up to six calls (read, create or update, three links), each within the configured timeout. */
const releasePages = (callTimeout: string) =>
  proxyActivities<ControlActivities>({ startToCloseTimeout: 6 * durationMs(callTimeout) + 60_000, retry });

/**
 * One training, id `train/<project>/<tag>`: the CD4ML pipeline from commit to
 * release. Cleanup (stop the machine, give the location back) always runs.
 */
export async function trainModel(request: TrainingRequestInput): Promise<TrainingResult> {
  const { workflowId } = workflowInfo();
  const progress = new ProgressTracker(`train ${request.project} ${request.releaseTag} on ${request.location}`);

  progress.enter('resolve');
  const plan: TrainingPlan = await control.resolveTraining(request).catch((err: unknown) => {
    throw surfaced(err);
  });
  let granted = false;
  setHandler(grantedSignal, () => void (granted = true));
  const machine = new TrainingMachine(plan, workflowId, progress);
  const { project, location, releaseTag, requestedBy } = plan.request;
  setSearchAttributes({ Cd4mlProject: project, Cd4mlLocation: location, Cd4mlReleaseTag: releaseTag, Cd4mlRequestedBy: requestedBy });
  const notes: string[] = [];
  let outcome: TrainingResult | undefined;
  let ended: 'failed' | 'cancelled' = 'failed';
  // A sweep's trials on a launched location each get an instance of their own: no line to wait in.
  const leased = !(plan.request.trial && launchesInstances(plan.location));
  try {
    if (leased) await waitForLocation(plan, workflowId, progress, () => granted);
    const image = await trainingImage(plan, progress);
    // From here the machine may cost money: a runaway training is cut off at the location's maxRuntime.
    outcome = await withinMaxRuntime(plan, () => withSpotResume({ plan, machine, progress, notes }, (started, resume) => {
      const queue = started.taskQueue ?? locationTaskQueue(plan.request.location);
      // --budget: stopped once the machine's cost passes it (training-budget.ts); counted per machine attempt.
      return withinBudget(plan, started, () => whileMachineRuns(plan, started, () =>
        onLocation({ plan, queue, progress, notes }, (steps) => runPipeline({ plan, machine: started, image, progress, ...(resume ? { resume } : {}) }, steps))));
    }));
  } catch (err) {
    if (isCancellation(err)) ended = 'cancelled';
    throw surfaced(err);
  } finally {
    // Not cancellable: a cancelled or failed training still switches its machine off and frees the location.
    await CancellationScope.nonCancellable(async () => {
      await machine.stop();
      if (!(plan.config.gitlab && outcome?.release)) progress.enter('done');
      // If the lease has already ended (or never started) there is nothing to give back.
      if (leased) await getExternalWorkflowHandle(locationWorkflowId(plan.request.location)).signal(releaseSignal, { workflowId }).catch(() => undefined);
    });
    const metric = outcome?.metrics[plan.config.gate.metric];
    setSearchAttributes({ Cd4mlDecision: outcome?.decision ?? ended, Cd4mlMetric: typeof metric === 'number' ? metric : null });
  }
  // Machine time and cost to the stop call, which comes after everything else; over every machine a reclaimed spot training used.
  const attempts = trainingAttempts(machine, outcome.decision);
  const result: TrainingResult = {
    ...outcome,
    machineSeconds: attempts ? totalOf(attempts).seconds : machine.stopped?.seconds ?? outcome.machineSeconds,
    estimatedCost: attempts ? totalOf(attempts).estimatedCost : machine.stopped?.estimatedCost ?? outcome.estimatedCost,
    ...(attempts ? { attempts } : {}),
    ...(notes.length ? { notes } : {}),
  };
  return withReleasePage(plan, result, progress);
}

/** One training per location at a time: join the location's line and wait for the grant. */
async function waitForLocation(plan: TrainingPlan, workflowId: string, progress: ProgressTracker, granted: () => boolean): Promise<void> {
  const { location } = plan.request;
  const lease = await control.requestLease({ location, workflowId });
  if (granted()) return;
  const holder = lease.holder && lease.holder !== workflowId ? lease.holder : undefined;
  progress.enter('lease', `location ${location}${holder ? ` (held by ${holder})` : ''}`);
  await condition(granted);
}

/** The training image, built if its content changed; none when cd4ml.yaml names no image. */
async function trainingImage(plan: TrainingPlan, progress: ProgressTracker): Promise<ImageResult | undefined> {
  const { request: req, config } = plan;
  if (!config.image) return undefined;
  progress.enter('image');
  return imageActivities(config.image.buildTimeout).ensureImage({
    project: req.project, repoUrl: req.repoUrl, branch: req.branch, commit: plan.commit, projectDir: plan.projectDir, image: config.image,
  });
}

/**
 * Only with a gitlab section, which cd4ml.yaml could not have before this step existed, so
 * trainings already running schedule nothing new. After cleanup: waiting out a GitLab outage
 * must not keep the machine on or the location held.
 */
async function withReleasePage(plan: TrainingPlan, result: TrainingResult, progress: ProgressTracker): Promise<TrainingResult> {
  const { config, request: req } = plan;
  if (!(config.gitlab && result.release)) return result;
  progress.enter('release-page');
  const { publishReleasePage } = releasePages(config.gitlab.timeout);
  result.releasePage = await publishReleasePageOrWarn(publishReleasePage, {
    gitlab: config.gitlab, store: plan.store, project: req.project, tag: req.releaseTag, tagCommit: result.release.tagCommit,
  });
  result.durations = { ...result.durations, 'release-page': progress.durations()['release-page'] };
  progress.enter('done');
  return result;
}
