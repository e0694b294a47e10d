import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import { git, remoteTagCommit } from './git.ts';
import { syncMirror } from './mirror.ts';

/** sha the remote's `ref` points at, or null. */
async function remoteRef(dir: string, ref: string): Promise<string | null> {
  const out = await git(dir, 'ls-remote', 'origin', ref);
  return out ? out.split('\t')[0]! : null;
}

/**
 * An accepted trial's params.yaml and dvc.lock, committed on top of the trained
 * commit and pushed to `ref` (not a tag: only the sweep's best becomes one).
 * Idempotent: the ref already on the remote on top of this commit is success.
 */
export async function commitTrial(
  dir: string,
  input: { commit: string; ref: string; message: string; files: string[] },
): Promise<{ paramsCommit: string }> {
  const existing = await remoteRef(dir, input.ref);
  if (existing) {
    await git(dir, 'fetch', '--quiet', 'origin', `+${input.ref}:${input.ref}`);
    const parent = await git(dir, 'rev-parse', `${existing}^`).catch(() => '');
    if (existing === input.commit || parent === input.commit) return { paramsCommit: existing };
  }
  const head = await git(dir, 'rev-parse', 'HEAD');
  if (head !== input.commit) {
    // A retry after the commit was made: HEAD is our commit on top of the trained one.
    const parent = await git(dir, 'rev-parse', 'HEAD^').catch(() => '');
    if (parent !== input.commit) {
      throw ApplicationFailure.nonRetryable(
        `checkout is at ${head.slice(0, 8)}, expected ${input.commit.slice(0, 8)}: another run moved it`, FailureType.TagConflict,
      );
    }
  } else if (await git(dir, 'status', '--porcelain', '--', ...input.files)) {
    await git(dir, 'add', '--', ...input.files);
    await git(dir, 'commit', '--quiet', '-m', input.message);
  }
  await git(dir, 'push', '--quiet', '--force', 'origin', `HEAD:${input.ref}`);
  return { paramsCommit: await git(dir, 'rev-parse', 'HEAD') };
}

/**
 * The sweep's release tag on the best trial's commit, made in the control worker's
 * mirror and pushed. Idempotent: the tag already at that commit is success.
 */
export async function tagTrial(
  mirrorsDir: string,
  input: { repoUrl: string; tag: string; ref: string; paramsCommit: string; message: string },
): Promise<{ tagCommit: string }> {
  const mirror = await syncMirror(mirrorsDir, input.repoUrl);
  const existing = await remoteTagCommit(mirror, 'origin', input.tag);
  if (existing) {
    if (existing === input.paramsCommit) return { tagCommit: existing };
    throw ApplicationFailure.nonRetryable(
      `tag ${input.tag} already exists at ${existing.slice(0, 8)}, not at the best trial's commit ${input.paramsCommit.slice(0, 8)}: choose another sweep tag`,
      FailureType.TagConflict,
    );
  }
  await git(mirror, 'fetch', '--quiet', 'origin', `+${input.ref}:${input.ref}`);
  await git(mirror, 'tag', '--force', '-a', input.tag, '-m', input.message, input.paramsCommit);
  await git(mirror, 'push', '--quiet', 'origin', `refs/tags/${input.tag}`);
  return { tagCommit: input.paramsCommit };
}

/** Deletes trials' refs from the remote once the sweep has ended (the tag keeps the best one's commit). */
export async function removeTrialRefs(mirrorsDir: string, input: { repoUrl: string; refs: string[] }): Promise<void> {
  const mirror = await syncMirror(mirrorsDir, input.repoUrl);
  const there: string[] = [];
  for (const ref of input.refs) if (await remoteRef(mirror, ref)) there.push(ref);
  if (there.length) await git(mirror, 'push', '--quiet', 'origin', ...there.map((r) => `:${r}`));
}
