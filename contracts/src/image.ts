import { z } from 'zod';
import { RepoUrl } from './repo-url.ts';

/** Build (or find) the training image of a commit: `pnpm cd4ml build-image`, the `build image` commit message. */
export const ImageRequest = z.object({
  project: z.string().min(1),
  repoUrl: RepoUrl,
  branch: z.string().min(1).default('main'),
  /** Full or abbreviated sha; absent means the branch head. */
  commit: z.string().regex(/^[0-9a-f]{4,40}$/, 'a hex commit sha').optional(),
  requestedBy: z.string().default('unknown'),
  configPath: z.string().default('cd4ml.yaml'),
});
export type ImageRequest = z.infer<typeof ImageRequest>;
export type ImageRequestInput = z.input<typeof ImageRequest>;

export interface ImageResult {
  /** repository:contentHash */
  ref: string;
  /** sha256:... of the manifest in the registry: what a training ran in. */
  digest: string;
  /** False when the registry already had the image. */
  built: boolean;
  contentHash: string;
  /** repository:branch, pointing at the same manifest. */
  branchRef: string;
}

/** The registry's exact image: by digest, so a later push to the same tag cannot change what runs. */
export const pinnedRef = (image: { ref: string; digest: string }): string =>
  `${image.ref.replace(/:[^:/]+$/, '')}@${image.digest}`;
