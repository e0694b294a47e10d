import path from 'node:path';
import { NightlyRequest, type DataChange, type NightlyRequestInput } from '@cd4ml/contracts';
import { openStore } from '@cd4ml/stores';
import { git } from '../git/git.ts';
import { showFile } from '../git/mirror.ts';
import { dvcFileHashes } from '../dvc/lock.ts';
import { latestTag, readManifest } from '../release/baseline.ts';
import { fetchCommit, parseRequest, projectConfigAt } from './project-at-commit.ts';

export interface NewData {
  /** The branch head, which a nightly training would train. */
  commit: string;
  latestTag: string | null;
  /** DVC-tracked data at the head that the latest release was not trained on. */
  changed: DataChange[];
}

/**
 * Does the branch head hold data the latest release has not seen? Compares
 * the hashes in the head's `.dvc` files with the data hashes the release
 * recorded: no download, no checkout. Code or params changes alone do not
 * count: those are trained on purpose, with a commit message.
 */
export async function findNewData(deps: { mirrorsDir: string; defaultStore: string }, input: NightlyRequestInput): Promise<NewData> {
  const request = parseRequest(NightlyRequest, input, 'nightly request');
  const { mirror, commit } = await fetchCommit(deps.mirrorsDir, request);
  const config = await projectConfigAt(mirror, commit, request);

  const projectDir = path.posix.dirname(request.configPath);
  const listed = await git(mirror, 'ls-tree', '-r', '--name-only', commit, '--', projectDir === '.' ? '.' : `${projectDir}/`);
  const now: Record<string, string> = {};
  for (const file of listed.split('\n').filter((f) => f.endsWith('.dvc'))) {
    const text = await showFile(mirror, commit, file);
    if (text !== null) Object.assign(now, dvcFileHashes(path.posix.relative(projectDir, file), text));
  }

  const store = openStore(config.store ?? deps.defaultStore);
  const tag = await latestTag(store, request.project);
  const released = tag === null ? {} : ((await readManifest(store, request.project, tag))?.data ?? {});
  const changed = Object.entries(now)
    .filter(([file, hash]) => released[file] !== hash)
    .map(([file, hash]) => ({ path: file, released: released[file] ?? null, now: hash }));
  return { commit, latestTag: tag, changed };
}
