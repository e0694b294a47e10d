import { ActivityFailure, ApplicationFailure, isCancellation, log } from '@temporalio/workflow';
import type { ControlActivities, ReleasePageInput } from '@cd4ml/activities';
import type { TrainingResult } from '@cd4ml/contracts/training';

/**
 * The GitLab release page of a release that is already published. Its failure
 * is a warning in the result, not a failed training: the tag is pushed, the
 * store and latest.json already point at the model, and serving may be loading
 * it. A failed training would tell CI the opposite, and a rerun under the same
 * tag could not republish a retrained model over it. The page is idempotent, so
 * publishing it again later is safe.
 */
export async function publishReleasePageOrWarn(
  publishReleasePage: ControlActivities['publishReleasePage'],
  input: ReleasePageInput,
): Promise<NonNullable<TrainingResult['releasePage']>> {
  try {
    const { url } = await publishReleasePage(input);
    return { published: true, url };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause;
    const failureType = isCancellation(err) ? 'Cancelled' : cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error');
    const error = isCancellation(err) ? 'the training was cancelled before its release page was written' : (cause?.message ?? err.message);
    log.warn('release page not written; the release itself is published', { tag: input.tag, failureType, error });
    return { published: false, failureType, error };
  }
}
