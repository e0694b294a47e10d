import {
  ActivityCancellationType, ActivityFailure, ApplicationFailure, TimeoutFailure, proxyActivities, type ActivityOptions,
} from '@temporalio/workflow';
import type { ControlActivities } from '@cd4ml/activities';
import { durationMs } from '@cd4ml/contracts/config';
import { FailureType, NON_RETRYABLE_FAILURES } from '@cd4ml/contracts/failures';

export const retry: ActivityOptions['retry'] = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 8,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

/** ensureImage: builds run as long as cd4ml.yaml allows (build, then push, each up to buildTimeout). */
export function imageActivities(buildTimeout: string) {
  return proxyActivities<ControlActivities>({
    startToCloseTimeout: 2 * durationMs(buildTimeout) + 5 * 60_000,
    // A dead control worker is noticed in half a minute and the build retried (its orphan killed first).
    heartbeatTimeout: '30 seconds',
    // A cancelled run ends once the builder's processes are gone, not before.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
  });
}

/** An activity's own failure (type and message) as the workflow's failure, so clients see what went wrong. */
export function surfaced(err: unknown): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    return ApplicationFailure.create({
      message: cause.message, type: cause.type ?? FailureType.StageFailed,
      details: cause.details as unknown[], nonRetryable: true, cause: err,
    });
  }
  return err;
}

/**
 * No worker took the activity within its schedule-to-start timeout: the worker whose
 * queue it was sent to is gone. Temporal does not retry this timeout.
 */
export function notPickedUp(err: unknown): err is ActivityFailure {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}
