import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import type { TrainingResult } from '@cd4ml/contracts';

/**
 * What a training left at its peers, read from the peers themselves (the release store's
 * folder, the git remote), not from cd4ml's history: the checks a crash test ends with.
 */

/** Every file under a folder, relative and sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/** The commit a tag points at in a (bare) git repository. */
export async function remoteTagTarget(repo: string, tag: string): Promise<string> {
  return (await execa('git', ['rev-parse', `refs/tags/${tag}^{commit}`], { cwd: repo })).stdout.trim();
}

/**
 * The release of `tag` in a folder store is exactly what its manifest lists (the model, the
 * report, the manifest, its plots: no file twice, none left over), its staged candidate is
 * gone, the model's bytes match the manifest, and the remote's tag points at the commit the
 * release names: the trained commit, or the dvc.lock commit made right on top of it.
 */
export async function expectReleasedOnce(
  at: { store: string; project: string; repo: string }, tag: string, result: TrainingResult,
): Promise<void> {
  const dir = path.join(at.store, at.project, tag);
  const manifest = JSON.parse(await readFile(path.join(dir, 'release.json'), 'utf8')) as {
    git: { commit: string; tagCommit: string }; model: { file: string; sha256: string }; plots?: { file: string }[];
  };
  const listed = [manifest.model.file, 'release.json', 'report.md', ...(manifest.plots ?? []).map((p) => p.file)].sort();
  expect(await filesUnder(dir), `files of release ${tag} in the store`).toEqual(listed);
  expect(existsSync(path.join(at.store, at.project, '.candidates', tag)), `candidate of ${tag} left in the store`).toBe(false);
  const sha = createHash('sha256').update(await readFile(path.join(dir, manifest.model.file))).digest('hex');
  expect(sha, `model of ${tag}`).toBe(manifest.model.sha256);

  expect(manifest.git.commit).toBe(result.commit);
  expect(result.release?.tagCommit).toBe(manifest.git.tagCommit);
  const target = await remoteTagTarget(at.repo, tag);
  expect(target, `tag ${tag} on the remote`).toBe(manifest.git.tagCommit);
  if (target !== result.commit) {
    expect((await execa('git', ['rev-parse', `${target}^`], { cwd: at.repo })).stdout.trim(), `parent of tag ${tag}'s commit`).toBe(result.commit);
  }
}

/** The entries of a project's folder in the store: one per release, latest.json, and (once anything was staged) .candidates. */
export async function storeEntries(store: string, project: string): Promise<string[]> {
  return (await readdir(path.join(store, project))).sort();
}
