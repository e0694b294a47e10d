import { ActivityCancellationType, ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { CheckoutRef, LocationActivities, TrainingPlan } from '@cd4ml/activities';
import type { CheckoutDone } from '@cd4ml/contracts/location-worker';
import { durationMs } from '@cd4ml/contracts/config';
import { FailureType } from '@cd4ml/contracts/failures';
import { notPickedUp, retry } from './activity-options.ts';
import type { ProgressTracker } from './progress.ts';

/**
 * How long a step waits for the worker that made the checkout: long enough for
 * it to restart on the same disk (systemd, a redeploy), short enough that a worker
 * that is gone is replaced within a couple of minutes.
 */
export const SAME_WORKER_WAIT = '1 minute';
/** A training starts over from checkout at most this many times when its worker goes. */
const MAX_CHECKOUTS = 3;

/** The location activities of one training, on one task queue. */
export interface LocationSteps {
  steps: LocationActivities;
  /** dvc repro: its own timeout; a cancel waits until its processes are really gone. */
  repro: LocationActivities;
}

function locationSteps(taskQueue: string, reproTimeout: string, sameWorker: boolean): LocationSteps {
  // A short heartbeat timeout: a worker that dies mid-step is noticed in seconds and the step retried.
  const base = { taskQueue, heartbeatTimeout: '20 seconds', retry, ...(sameWorker ? { scheduleToStartTimeout: SAME_WORKER_WAIT } : {}) };
  return {
    steps: proxyActivities<LocationActivities>({ ...base, startToCloseTimeout: '30 minutes' }),
    repro: proxyActivities<LocationActivities>({
      ...base,
      startToCloseTimeout: durationMs(reproTimeout),
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
  };
}

export interface OnLocation {
  plan: TrainingPlan;
  /** The location's queue (a launched instance's own). */
  queue: string;
  progress: ProgressTracker;
  /** What happened that a person should know: a lost worker, a restart. */
  notes: string[];
}

/**
 * Runs `body` (every step after the checkout) on the worker that made the checkout,
 * through that worker's own queue, so the steps of one training never split across
 * two checkouts. If that worker does not come back for a step within
 * SAME_WORKER_WAIT, the training starts over from checkout on whichever worker of
 * the location takes it, and says so.
 */
export async function onLocation<T>(ctx: OnLocation, body: (steps: LocationSteps) => Promise<T>): Promise<T> {
  const { plan, queue, progress } = ctx;
  const ref: CheckoutRef = { project: plan.request.project, projectDir: plan.projectDir };
  const checkout = async (): Promise<CheckoutDone | void> => {
    progress.enter('checkout');
    return locationSteps(queue, plan.config.repro.timeout, false).steps.checkout({ ...ref, repoUrl: plan.request.repoUrl, commit: plan.commit });
  };
  for (let attempt = 1; ; attempt++) {
    const done = await checkout();
    // A location worker older than sticky steps answers nothing: its steps stay on the location's queue.
    const stepsQueue = done?.checkoutQueue ?? queue;
    try {
      return await body(locationSteps(stepsQueue, plan.config.repro.timeout, stepsQueue !== queue));
    } catch (err) {
      if (!notPickedUp(err)) throw err;
      const lost = `${done?.worker ?? 'the worker'} did not come back for ${err.activityType} within ${SAME_WORKER_WAIT}`;
      if (attempt >= MAX_CHECKOUTS) {
        throw ApplicationFailure.create({
          message: `${lost}, and the training has started over ${MAX_CHECKOUTS} times already; check the location workers of "${plan.request.location}" and retry the training`,
          type: FailureType.WorkerLost, nonRetryable: true, cause: err,
        });
      }
      const note = `${lost}: starting again from checkout on another worker of location ${plan.request.location}`;
      log.warn(note);
      ctx.notes.push(note);
      progress.note(note);
    }
  }
}
