import { createHash } from 'node:crypto';
import { mkdir, access } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';

/**
 * A bare mirror of a project's repository on the control worker, so it can
 * read cd4ml.yaml at a commit and check the commit exists before any machine
 * starts. Fetching an existing mirror is incremental.
 */
export async function syncMirror(mirrorsDir: string, repoUrl: string): Promise<string> {
  const dir = path.join(mirrorsDir, createHash('sha256').update(repoUrl).digest('hex').slice(0, 16) + '.git');
  try {
    await access(path.join(dir, 'HEAD'));
  } catch {
    await mkdir(dir, { recursive: true });
    await git(dir, 'init', '--bare', '--quiet');
    await git(dir, 'remote', 'add', 'origin', repoUrl);
  }
  await git(dir, 'fetch', '--quiet', '--prune', '--force', 'origin', '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*');
  return dir;
}

/** Text of a file at a commit, or null when the file is not there. */
export async function showFile(repoDir: string, commit: string, file: string): Promise<string | null> {
  try {
    return await git(repoDir, 'show', `${commit}:${file}`);
  } catch {
    return null;
  }
}
