import { readFileSync } from 'node:fs';

/** The pushed commit a CI job runs for, read from the job's environment. */
export interface CiContext {
  message: string;
  commit: string | undefined;
  branch: string | undefined;
  requestedBy: string;
}

/**
 * GitLab CI ($CI_COMMIT_MESSAGE, $CI_COMMIT_SHA, $CI_COMMIT_BRANCH) or GitHub
 * Actions ($GITHUB_SHA, $GITHUB_REF, the message from the event file). Not the
 * clone url: CI's carries the job token, which must not enter workflow history.
 */
export function ciContext(env: NodeJS.ProcessEnv): CiContext {
  let message = env.CI_COMMIT_MESSAGE;
  if (message === undefined && env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { head_commit?: { message?: string } | null };
      message = event.head_commit?.message;
    } catch (err) {
      throw new Error(`cannot read the commit message from $GITHUB_EVENT_PATH (${env.GITHUB_EVENT_PATH}): ${(err as Error).message}`);
    }
  }
  const githubBranch = env.GITHUB_REF?.startsWith('refs/heads/') ? env.GITHUB_REF.slice('refs/heads/'.length) : undefined;
  return {
    message: message ?? '',
    commit: env.CI_COMMIT_SHA ?? env.GITHUB_SHA,
    branch: env.CI_COMMIT_BRANCH ?? githubBranch,
    requestedBy: env.GITLAB_USER_LOGIN ?? env.GITHUB_ACTOR ?? env.USER ?? 'ci',
  };
}
