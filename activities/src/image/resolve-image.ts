import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, ImageRequest, type ImageRequestInput } from '@cd4ml/contracts';
import { fetchCommit, parseRequest, projectConfigAt } from '../resolve/project-at-commit.ts';
import type { EnsureImageInput } from './ensure-image.ts';
import { hashImageAt } from './git-context.ts';

export interface ImagePlan extends EnsureImageInput {
  contentHash: string;
}

/**
 * An image-only request made concrete: the commit, cd4ml.yaml's image section
 * and the content hash there. The CLI runs it too, for the workflow id
 * `image/<project>/<contentHash>`; the control worker runs it as an activity.
 */
export async function resolveImage(deps: { mirrorsDir: string }, input: ImageRequestInput): Promise<ImagePlan> {
  const request = parseRequest(ImageRequest, input, 'image request');
  const { mirror, commit } = await fetchCommit(deps.mirrorsDir, request);
  const config = await projectConfigAt(mirror, commit, request);
  if (!config.image) {
    throw ApplicationFailure.nonRetryable(
      `${request.configPath} at ${commit.slice(0, 8)} has no image section: add one (image.repository at least) to build a training image`,
      FailureType.ConfigInvalid,
    );
  }
  const projectDir = path.posix.dirname(request.configPath);
  const { hash } = await hashImageAt(mirror, commit, projectDir, config.image);
  return {
    project: request.project, repoUrl: request.repoUrl, branch: request.branch, commit, projectDir,
    image: config.image, contentHash: hash,
  };
}
