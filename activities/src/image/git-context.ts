import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, type ImageConfig } from '@cd4ml/contracts';
import { git } from '../git/git.ts';
import { showFile } from '../git/mirror.ts';
import { runProcess } from '../process/run-process.ts';
import { contextHash, type ContextFile, type ContextHash } from './content-hash.ts';

/** Where the image's files are in the repository (posix, relative to its root; '' is the root). */
export interface ImagePaths {
  context: string;
  dockerfile: string;
}

/** cd4ml.yaml's image paths are relative to its folder; they may not leave the repository. */
export function imagePaths(projectDir: string, image: Pick<ImageConfig, 'context' | 'dockerfile'>): ImagePaths {
  const inRepo = (field: string, p: string) => {
    const joined = path.posix.normalize(path.posix.join(projectDir, p));
    if (path.posix.isAbsolute(p) || joined === '..' || joined.startsWith('../')) {
      throw ApplicationFailure.nonRetryable(
        `image.${field}: "${p}" is outside the repository: give a path relative to the folder of cd4ml.yaml`,
        FailureType.ConfigInvalid,
      );
    }
    return joined === '.' ? '' : joined.replace(/\/$/, '');
  };
  return { context: inRepo('context', image.context), dockerfile: inRepo('dockerfile', image.dockerfile) };
}

/** The ignore file each builder reads: buildah prefers .containerignore, the others know only .dockerignore. */
export const ignoreFileNames = (builder: ImageConfig['builder']): string[] =>
  builder === 'buildah' ? ['.containerignore', '.dockerignore'] : ['.dockerignore'];

const treeish = (commit: string, dir: string) => (dir ? `${commit}:${dir}` : `${commit}^{tree}`);

/** Every file under the context folder at a commit, with git's blob id as its content id. */
export async function contextFiles(repo: string, commit: string, context: string): Promise<ContextFile[]> {
  let out: string;
  try {
    out = await git(repo, 'ls-tree', '-r', '-z', treeish(commit, context));
  } catch {
    throw ApplicationFailure.nonRetryable(
      `image.context: ${context || '.'} is not a folder at ${commit.slice(0, 8)}: check the path in cd4ml.yaml`,
      FailureType.ConfigInvalid,
    );
  }
  const files: ContextFile[] = [];
  for (const entry of out.split('\0')) {
    const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(entry);
    // Submodules (type commit) are not in the tree a builder receives.
    if (m && m[2] === 'blob') files.push({ mode: m[1]!, id: m[3]!, path: m[4]! });
  }
  return files;
}

/** The image's content hash at a commit, from the mirror alone (no checkout). */
export async function hashImageAt(
  repo: string,
  commit: string,
  projectDir: string,
  image: ImageConfig,
): Promise<ContextHash & { paths: ImagePaths }> {
  const paths = imagePaths(projectDir, image);
  const dockerfile = await showFile(repo, commit, paths.dockerfile);
  if (dockerfile === null) {
    throw ApplicationFailure.nonRetryable(
      `image.dockerfile: ${paths.dockerfile} not found at ${commit.slice(0, 8)}: add it, or point image.dockerfile at yours`,
      FailureType.ConfigInvalid,
    );
  }
  let ignoreFile: string | null = null;
  for (const name of ignoreFileNames(image.builder)) {
    ignoreFile = await showFile(repo, commit, path.posix.join(paths.context, name));
    if (ignoreFile !== null) break;
  }
  const files = await contextFiles(repo, commit, paths.context);
  return { ...contextHash({ dockerfile, ignoreFile, files }), paths };
}

/** Writes the context folder at a commit into `dest` (emptied first): what the builder gets. */
export async function exportContext(repo: string, commit: string, context: string, dest: string, signal?: AbortSignal): Promise<void> {
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  const tar = `${dest}.tar`;
  await runProcess('git', ['archive', '--format=tar', `--output=${tar}`, treeish(commit, context)], { cwd: repo, signal });
  try {
    await runProcess('tar', ['-xf', tar, '-C', dest], { cwd: dest, signal });
  } finally {
    await rm(tar, { force: true });
  }
}
