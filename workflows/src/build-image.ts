import { proxyActivities } from '@temporalio/workflow';
import type { ControlActivities } from '@cd4ml/activities';
import type { ImageRequestInput, ImageResult } from '@cd4ml/contracts/image';
import { imageActivities, retry, surfaced } from './activity-options.ts';
import { ProgressTracker } from './progress.ts';

const control = proxyActivities<ControlActivities>({ startToCloseTimeout: '2 minutes', retry });

/**
 * The training image alone, id `image/<project>/<contentHash>`: what
 * `pnpm cd4ml build-image` and the `build image` commit message start. The
 * same content twice is one image: a second run finds it and only tags.
 */
export async function buildImage(request: ImageRequestInput): Promise<ImageResult> {
  const progress = new ProgressTracker(`image ${request.project} ${request.commit ?? request.branch ?? 'main'}`);
  try {
    progress.enter('resolve');
    const plan = await control.resolveImage(request);
    progress.enter('image');
    return await imageActivities(plan.image.buildTimeout).ensureImage(plan);
  } catch (err) {
    throw surfaced(err);
  } finally {
    progress.enter('done');
  }
}
