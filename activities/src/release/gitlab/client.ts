import { ApplicationFailure } from '@temporalio/activity';
import { ProjectReleases, ReleaseLinks } from '@gitbeaker/rest';
import { FailureType, durationMs, type GitLabConfig } from '@cd4ml/contracts';

/**
 * The token from the variable cd4ml.yaml names. Only the variable's name
 * travels through workflow history; the value is read here, on the worker.
 */
export function readToken(tokenEnv: string, env: NodeJS.ProcessEnv): string {
  const token = env[tokenEnv]?.trim();
  if (!token) {
    throw ApplicationFailure.nonRetryable(
      `${tokenEnv} is not set on the control worker: set it to a GitLab token with the Developer role and api scope ` +
        '(cd4ml.yaml gitlab.tokenEnv names the variable)',
      FailureType.ConfigInvalid,
    );
  }
  // fetch() would refuse such a header with an error that quotes the value.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw ApplicationFailure.nonRetryable(
      `${tokenEnv} holds characters a GitLab token cannot have (spaces or control characters): set it to the token alone`,
      FailureType.ConfigInvalid,
    );
  }
  return token;
}

/** The two gitbeaker resources a release page needs, with a timeout on every call. */
export function gitlabApi(config: GitLabConfig, token: string) {
  const options = {
    host: config.url.replace(/\/+$/, ''),
    // A function, so the value is kept in a closure rather than on the resource objects.
    token: async () => token,
    queryTimeout: durationMs(config.timeout),
  };
  return { releases: new ProjectReleases(options), links: new ReleaseLinks(options) };
}

export type GitLabApi = ReturnType<typeof gitlabApi>;
