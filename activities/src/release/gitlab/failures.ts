import { ApplicationFailure } from '@temporalio/activity';
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { FailureType, type GitLabConfig } from '@cd4ml/contracts';

/** The HTTP status of a failed gitbeaker call; undefined when no answer came. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof GitbeakerRequestError ? err.cause?.response.status : undefined;
}

/** Removes the token from text that came from elsewhere (a server's answer, a library's message). */
export function redact(text: string, token: string): string {
  return text.split(token).join('[redacted]');
}

/**
 * A gitbeaker error as an ApplicationFailure that says what to do. The original
 * is never passed on as the cause: gitbeaker's errors hold the Request, headers
 * and token included, and a cause would be written to workflow history.
 */
export function gitlabFailure(err: unknown, what: string, config: GitLabConfig, token: string): ApplicationFailure {
  const where = `GitLab ${config.url}, project ${config.project}`;
  const status = statusOf(err);
  const fail = (message: string, type: FailureType, nonRetryable: boolean) =>
    ApplicationFailure.create({ message: redact(message, token), type, nonRetryable });

  if (status === undefined) {
    if (err instanceof GitbeakerTimeoutError) return fail(`${what}: ${where} did not answer within ${config.timeout}`, FailureType.GitLabUnavailable, false);
    if (err instanceof GitbeakerRetryError) return fail(`${what}: ${where}: ${err.message}`, FailureType.GitLabUnavailable, false);
    if (err instanceof TypeError && err.message === 'fetch failed') {
      // Refused, reset, DNS: the reason is in the cause.
      const reason = (err as { cause?: { code?: string; message?: string } }).cause;
      return fail(`${what}: cannot reach ${where}: ${reason?.code ?? reason?.message ?? err.message}`, FailureType.GitLabUnavailable, false);
    }
    const e = err instanceof Error ? err : new Error(String(err));
    return ApplicationFailure.create({ message: redact(`${what}: ${e.message}`, token), type: e.name, nonRetryable: false });
  }
  const answer = `${status} ${(err as GitbeakerRequestError).cause?.description ?? ''}`.trim();
  if (status === 401 || status === 403) {
    return fail(
      `${what}: ${where} refused the token in ${config.tokenEnv} (${answer}): set ${config.tokenEnv} on the control worker ` +
        'to a token of a user with the Developer role on the project and the api scope',
      FailureType.CredentialsRejected, true,
    );
  }
  if (status === 404) {
    return fail(
      `${what}: ${where} not found (${answer}): check gitlab.project in cd4ml.yaml, and that the token in ${config.tokenEnv} can see it`,
      FailureType.ConfigInvalid, true,
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return fail(`${what}: ${where} answered ${answer}`, FailureType.GitLabUnavailable, false);
  }
  return fail(`${what}: ${where} refused it (${answer})`, FailureType.ReleasePageRejected, true);
}
