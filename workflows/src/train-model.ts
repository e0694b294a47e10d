import {
  ActivityCancellationType, ApplicationFailure, CancellationScope, condition, getExternalWorkflowHandle,
  isCancellation, patched, proxyActivities, setHandler, sleep, workflowInfo,
} from '@temporalio/workflow';
import type { ControlActivities, LocationActivities, Machine, StopResult, TrainingPlan } from '@cd4ml/activities';
import { estimatedCost, type TrainingRequestInput, type TrainingResult } from '@cd4ml/contracts/training';
import { pinnedRef, type ImageResult } from '@cd4ml/contracts/image';
import { durationMs } from '@cd4ml/contracts/config';
import { FailureType } from '@cd4ml/contracts/failures';
import { locationTaskQueue, locationWorkflowId } from '@cd4ml/contracts/ids';
import { imageActivities, retry, surfaced } from './activity-options.ts';
import { grantedSignal, releaseSignal } from './location-lease.ts';
import { ProgressTracker } from './progress.ts';
import { publishReleasePageOrWarn } from './release-page.ts';

/** Trainings started before images existed skip the image step when they replay. */
const TRAINING_IMAGE_PATCH = 'training-image';

const control = proxyActivities<ControlActivities>({ startToCloseTimeout: '2 minutes', retry });
const gate = proxyActivities<ControlActivities>({ startToCloseTimeout: '10 minutes', retry });
// Switching a cloud machine on can take minutes (boot, then its worker starts). It heartbeats, so a
// dead worker is noticed in 30 s; a cancel waits for the activity to switch off what it switched on.
const compute = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});
// Cleanup must outlast any outage: it retries until it succeeds.
const cleanup = proxyActivities<ControlActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The GitLab release page: up to six calls (read, create or update, three links), each within the configured timeout. */
const releasePages = (callTimeout: string) =>
  proxyActivities<ControlActivities>({ startToCloseTimeout: 6 * durationMs(callTimeout) + 60_000, retry });

/** Activities on the location's own task queue, served by the worker on the training machine. */
function locationActivities(taskQueue: string, reproTimeout: string) {
  // A short heartbeat timeout: a worker that dies mid-step is noticed in seconds and the step retried.
  const base = { taskQueue, heartbeatTimeout: '20 seconds', retry };
  return {
    steps: proxyActivities<LocationActivities>({ ...base, startToCloseTimeout: '30 minutes' }),
    // Cancelling waits until dvc repro's processes are really gone before the machine is stopped.
    repro: proxyActivities<LocationActivities>({
      ...base,
      startToCloseTimeout: durationMs(reproTimeout),
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
  };
}

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
  const { request: req, commit, config } = plan;
  const ref = { project: req.project, projectDir: plan.projectDir };

  let granted = false;
  setHandler(grantedSignal, () => void (granted = true));
  let machine: Machine | undefined;
  let startAttempted = false;
  let stopped: StopResult | undefined;
  let runaway = false;
  let outcome: TrainingResult | undefined;
  // Histories recorded before these existed replay without them.
  const guardRuntime = patched('max-runtime');
  const cleanUpFailedStart = patched('stop-unstarted-machine');
  try {
    const lease = await control.requestLease({ location: req.location, workflowId });
    if (!granted) {
      const holder = lease.holder && lease.holder !== workflowId ? lease.holder : undefined;
      progress.enter('lease', `location ${req.location}${holder ? ` (held by ${holder})` : ''}`);
      await condition(() => granted);
    }

    let image: ImageResult | undefined;
    if (config.image && patched(TRAINING_IMAGE_PATCH)) {
      progress.enter('image');
      image = await imageActivities(config.image.buildTimeout).ensureImage({
        project: req.project, repoUrl: req.repoUrl, branch: req.branch, commit, projectDir: plan.projectDir, image: config.image,
      });
    }

    // From here the machine may cost money: a runaway training is cut off at the location's maxRuntime.
    const pipeline = new CancellationScope();
    const guard = new CancellationScope();
    if (guardRuntime) {
      void guard.run(() => sleep(durationMs(plan.location.maxRuntime))).then(() => {
        runaway = true;
        pipeline.cancel();
      }).catch(() => undefined);
    }
    try {
      outcome = await pipeline.run(async () => {
        progress.enter('start-machine');
        startAttempted = true;
        machine = await compute.startMachine({ location: req.location, config: plan.location, workflowId });

        const { steps, repro } = locationActivities(machine.taskQueue ?? locationTaskQueue(req.location), config.repro.timeout);
        progress.enter('checkout');
        await steps.checkout({ ...ref, repoUrl: req.repoUrl, commit });
        progress.enter('dvc-pull');
        const { dvcFiles } = await steps.dvcPull(ref);
        progress.enter('dvc-repro');
        await repro.dvcRepro({
          ...ref, timeoutMs: durationMs(config.repro.timeout),
          ...(image && config.image ? { image: { pinnedRef: pinnedRef(image), run: config.image.run } } : {}),
        });
        progress.enter('stage-candidate');
        const candidate = await steps.stageCandidate({ ...ref, store: plan.store, tag: req.releaseTag, outputs: config.outputs, dvcFiles });

        progress.enter('evaluate');
        const evaluation = await gate.evaluateCandidate({ project: req.project, candidate, gate: config.gate });
        const result = (extra: Partial<TrainingResult>): TrainingResult => ({
          decision: evaluation.accepted ? 'accepted' : 'rejected',
          reasons: evaluation.reasons,
          releaseTag: req.releaseTag,
          commit,
          checks: evaluation.checks,
          metrics: evaluation.metrics,
          baseline: evaluation.baseline,
          durations: progress.durations(),
          machineSeconds: (Date.now() - machine!.startedAt) / 1000,
          estimatedCost: null,
          ...(image ? { image } : {}),
          ...extra,
        });
        if (!evaluation.accepted) {
          await control.discardCandidate({ store: plan.store, key: candidate.key });
          return result({});
        }

        progress.enter('dvc-push');
        await steps.dvcPush(ref);
        progress.enter('tag');
        const { tagCommit } = await steps.tagRelease({
          ...ref, commit, tag: req.releaseTag,
          message: `cd4ml release ${req.releaseTag}: ${config.gate.metric} ${String(evaluation.metrics[config.gate.metric])}${req.reason ? `\n\n${req.reason}` : ''}`,
        });
        progress.enter('publish');
        const machineSeconds = (Date.now() - machine.startedAt) / 1000;
        const published = await control.publishRelease({
          store: plan.store,
          project: req.project,
          tag: req.releaseTag,
          git: { repoUrl: req.repoUrl, branch: req.branch, commit, tagCommit },
          candidate,
          checks: evaluation.checks,
          baseline: evaluation.baseline,
          model: evaluation.model,
          ...(image ? { image: { ref: image.ref, digest: image.digest } } : {}),
          location: req.location,
          // Up to publishing: the release is written while the machine is still on.
          machine: {
            provider: machine.provider, instanceType: machine.instanceType, seconds: machineSeconds,
            estimatedCost: estimatedCost(machineSeconds, machine.hourlyPrice),
          },
          durations: progress.durations(),
          requestedBy: req.requestedBy,
          reason: req.reason,
        });
        return result({ release: { store: plan.store, key: published.key, tagCommit } });
      });
    } finally {
      guard.cancel();
    }
  } catch (err) {
    if (runaway && isCancellation(err)) {
      throw ApplicationFailure.create({
        message: `training ran longer than location "${req.location}"'s maxRuntime (${plan.location.maxRuntime}) and was stopped; raise locations.${req.location}.maxRuntime in cd4ml.yaml if it needs longer`,
        type: FailureType.MaxRuntimeExceeded, nonRetryable: true,
      });
    }
    throw surfaced(err);
  } finally {
    // Not cancellable: a cancelled or failed training still switches its machine off and frees the location.
    await CancellationScope.nonCancellable(async () => {
      if (machine) {
        progress.enter('stop-machine');
        stopped = await cleanup.stopMachine(machine);
      } else if (startAttempted && cleanUpFailedStart) {
        // startMachine never returned (cancelled or failed after launching): stop whatever carries our tags.
        progress.enter('stop-machine');
        stopped = await cleanup.stopUnstartedMachine({ location: req.location, config: plan.location, workflowId });
      }
      if (!(config.gitlab && outcome?.release)) progress.enter('done');
      // If the lease has already ended (or never started) there is nothing to give back.
      await getExternalWorkflowHandle(locationWorkflowId(req.location)).signal(releaseSignal, { workflowId }).catch(() => undefined);
    });
  }
  // Machine time and cost to the stop call, which comes after everything else.
  const result: TrainingResult = {
    ...outcome,
    machineSeconds: stopped?.seconds ?? outcome.machineSeconds,
    estimatedCost: stopped?.estimatedCost ?? outcome.estimatedCost,
  };
  // Only with a gitlab section, which cd4ml.yaml could not have before this step existed, so
  // trainings already running schedule nothing new. After cleanup: waiting out a GitLab outage
  // must not keep the machine on or the location held.
  if (config.gitlab && outcome.release) {
    progress.enter('release-page');
    const { publishReleasePage } = releasePages(config.gitlab.timeout);
    result.releasePage = await publishReleasePageOrWarn(publishReleasePage, {
      gitlab: config.gitlab, store: plan.store, project: req.project, tag: req.releaseTag, tagCommit: outcome.release.tagCommit,
    });
    result.durations = { ...result.durations, 'release-page': progress.durations()['release-page'] };
    progress.enter('done');
  }
  return result;
}
