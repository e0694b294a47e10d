import { proxyActivities } from '@temporalio/workflow';
import { notPickedUp } from './activity-options.ts';
import type { FenceRequest, LocationAdminActivities, LocationWorkerInfo } from '@cd4ml/contracts/location-worker';

/**
 * How long a live worker has to take the question. Its admin queue always has a poll
 * waiting, so a live worker starts the task within milliseconds; silence means gone.
 */
export const FENCE_ANSWER_TIMEOUT = '3 seconds';

/**
 * Asks whichever live worker serves a location queue who it is, or to step aside
 * (`retire`). Run by a location worker before it starts polling: workflows can
 * schedule activities on another worker's queue, clients cannot. Answers null when
 * no worker takes the question in time.
 */
export async function fenceLocation(input: FenceRequest): Promise<LocationWorkerInfo | null> {
  const admin = proxyActivities<LocationAdminActivities>({
    taskQueue: input.adminQueue,
    scheduleToStartTimeout: FENCE_ANSWER_TIMEOUT,
    startToCloseTimeout: '30 seconds',
    retry: { maximumAttempts: 1 },
  });
  try {
    return input.action === 'retire' ? await admin.retireWorker({ by: input.by }) : await admin.describeWorker();
  } catch (err) {
    if (notPickedUp(err)) return null;
    throw err;
  }
}
