import { ApplicationFailure } from '@temporalio/activity';
import type { ImageConfig, ImageResult } from '@cd4ml/contracts';
import { startHeartbeats } from '../heartbeat.ts';
import { fetchCommit } from '../resolve/project-at-commit.ts';
import { buildAndPush, oneAtATime } from './build-and-push.ts';
import type { BuilderSettings } from './builders.ts';
import { registryLogin } from './credentials.ts';
import { hashImageAt } from './git-context.ts';
import { branchTag, parseRepository } from './image-ref.ts';
import { Registry } from './registry.ts';

export interface EnsureImageInput {
  project: string;
  repoUrl: string;
  branch: string;
  commit: string;
  /** Folder of cd4ml.yaml in the repository; the image's paths are relative to it. */
  projectDir: string;
  image: ImageConfig;
}


/** Heartbeat details: the CLI shows `imageStep` and the builder's last line. */
export interface ImageHeartbeat {
  stage: 'image';
  imageStep: 'fetch' | 'hash' | 'check' | 'export' | 'build' | 'push' | 'clean' | 'tag';
  ref: string;
  line: string;
}

export interface ImageDeps {
  mirrorsDir: string;
  /** Scratch space for builds (exported contexts, login files) and builder storage. */
  imageDir: string;
  builders: BuilderSettings;
}

/**
 * The training image for a commit, content-addressed: if the registry has
 * `<repository>:<hash>` nothing is built; otherwise it is built and pushed.
 * Either way `<repository>:<branch>` ends up at the same manifest. Running it
 * twice changes nothing the second time.
 */
export async function ensureImage(deps: ImageDeps, input: EnsureImageInput): Promise<ImageResult> {
  const { image, commit } = input;
  const hb = startHeartbeats<ImageHeartbeat>({ stage: 'image', imageStep: 'fetch', ref: '', line: '' });
  try {
    const { mirror } = await fetchCommit(deps.mirrorsDir, input);
    hb.update({ imageStep: 'hash' });
    const { hash, paths } = await hashImageAt(mirror, commit, input.projectDir, image);
    const ref = `${image.repository}:${hash}`;
    const branch = branchTag(input.branch);
    const login = registryLogin(image);
    const repo = parseRepository(image.repository, image.insecure);
    const registry = new Registry(repo, login, hb.signal);

    hb.update({ imageStep: 'check', ref });
    let digest = await registry.digest(hash);
    let built = false;
    if (!digest) {
      // Two trainings needing the same new image: the second waits, then finds it pushed.
      digest = await oneAtATime(ref, async () => {
        if (hb.signal.aborted) throw hb.signal.reason;
        const pushed = await registry.digest(hash);
        if (pushed) return pushed;
        const insecure = repo.baseUrl.startsWith('http:');
        await buildAndPush(deps, { mirror, commit, paths, image, ref, hash, login, registryHost: repo.host, insecure }, hb);
        built = true;
        const after = await registry.digest(hash);
        if (!after) throw ApplicationFailure.retryable(`${ref} was pushed but the registry does not list it yet`, 'RegistryUnavailable');
        return after;
      });
    }

    hb.update({ imageStep: 'tag' });
    if ((await registry.digest(branch)) !== digest) await registry.copyTag(digest, branch);
    return { ref, digest, built, contentHash: hash, branchRef: `${image.repository}:${branch}` };
  } finally {
    hb.stop();
  }
}

