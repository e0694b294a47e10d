import { capture } from '../process/run-process.ts';

// Commits cd4ml makes (dvc.lock after a release) carry this identity; never a prompt.
export const GIT_ENV: Record<string, string> = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'cd4ml',
  GIT_AUTHOR_EMAIL: 'cd4ml@localhost',
  GIT_COMMITTER_NAME: 'cd4ml',
  GIT_COMMITTER_EMAIL: 'cd4ml@localhost',
};

export const git = (cwd: string, ...args: string[]): Promise<string> => capture('git', args, cwd, GIT_ENV);

/** The sha a ref names, or null when it does not exist. */
export async function revParse(cwd: string, ref: string): Promise<string | null> {
  try {
    return await git(cwd, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    return null;
  }
}

/** sha of refs/tags/<tag> on the remote (peeled to its commit), or null. */
export async function remoteTagCommit(cwd: string, remote: string, tag: string): Promise<string | null> {
  const out = await git(cwd, 'ls-remote', '--tags', remote, `refs/tags/${tag}`, `refs/tags/${tag}^{}`);
  if (!out) return null;
  const lines = out.split('\n').map((l) => l.split('\t') as [string, string]);
  const peeled = lines.find(([, ref]) => ref.endsWith('^{}'));
  return (peeled ?? lines[0])![0];
}
