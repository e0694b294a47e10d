import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { git } from './git.ts';

/**
 * Brings the location's persistent checkout to `commit`. Ignored files (DVC
 * data, models, the DVC cache) stay, so the next pull and repro only do what
 * changed; tracked changes from a previous run are discarded.
 */
export async function checkoutCommit(dir: string, repoUrl: string, commit: string): Promise<void> {
  try {
    await access(path.join(dir, '.git'));
    await git(dir, 'remote', 'set-url', 'origin', repoUrl);
  } catch {
    await mkdir(dir, { recursive: true });
    await git(dir, 'init', '--quiet');
    await git(dir, 'remote', 'add', 'origin', repoUrl);
  }
  await git(dir, 'fetch', '--quiet', '--prune', '--force', 'origin', '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*');
  await git(dir, 'checkout', '--quiet', '--force', '--detach', commit);
  await git(dir, 'clean', '-fdq');
}
