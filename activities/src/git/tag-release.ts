import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import { git, remoteTagCommit } from './git.ts';

/**
 * Records the release in git: dvc.lock committed on top of the trained commit
 * (when repro changed it), an annotated tag on that, the tag pushed.
 * Idempotent: a tag already on the remote at this training's commit is success.
 */
export async function tagRelease(
  dir: string,
  input: { commit: string; tag: string; message: string; lockFile: string },
): Promise<{ tagCommit: string }> {
  const existing = await remoteTagCommit(dir, 'origin', input.tag);
  if (existing) {
    await git(dir, 'fetch', '--quiet', 'origin', `+refs/tags/${input.tag}:refs/tags/${input.tag}`);
    const parent = await git(dir, 'rev-parse', `${existing}^`).catch(() => '');
    if (existing === input.commit || parent === input.commit) return { tagCommit: existing };
    throw ApplicationFailure.nonRetryable(
      `tag ${input.tag} already exists at ${existing.slice(0, 8)}, not at the trained commit ${input.commit.slice(0, 8)}: choose another release tag`,
      FailureType.TagConflict,
    );
  }
  const head = await git(dir, 'rev-parse', 'HEAD');
  if (head !== input.commit) {
    // A retry after the commit was made: HEAD is our dvc.lock commit on top of the trained one.
    const parent = await git(dir, 'rev-parse', 'HEAD^').catch(() => '');
    if (parent !== input.commit) {
      throw ApplicationFailure.nonRetryable(
        `checkout is at ${head.slice(0, 8)}, expected ${input.commit.slice(0, 8)}: another run moved it`,
        FailureType.TagConflict,
      );
    }
  } else if (await git(dir, 'status', '--porcelain', '--', input.lockFile)) {
    await git(dir, 'add', '--', input.lockFile);
    await git(dir, 'commit', '--quiet', '-m', `cd4ml: ${input.tag} dvc.lock`, '-m', input.message);
  }
  const tagCommit = await git(dir, 'rev-parse', 'HEAD');
  await git(dir, 'tag', '--force', '-a', input.tag, '-m', input.message, tagCommit);
  await git(dir, 'push', '--quiet', 'origin', `refs/tags/${input.tag}`);
  return { tagCommit };
}
