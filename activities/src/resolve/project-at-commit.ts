import { ApplicationFailure } from '@temporalio/activity';
import { ConfigError, FailureType, describeInvalid, parseProjectConfig, type ProjectConfig } from '@cd4ml/contracts';
import { revParse } from '../git/git.ts';
import { showFile, syncMirror } from '../git/mirror.ts';
import { ProcessFailed } from '../process/run-process.ts';

interface RequestSchema<T> {
  safeParse(input: unknown):
    | { success: true; data: T }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** A request checked against its schema; every problem named, non-retryable (the same input fails again). */
export function parseRequest<T>(schema: RequestSchema<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.nonRetryable(describeInvalid(what, parsed.error.issues, 'request'), FailureType.ConfigInvalid);
}

/** Fetches the repository into its mirror and finds the commit: `commit` if given, else the branch head. */
export async function fetchCommit(
  mirrorsDir: string,
  request: { repoUrl: string; branch: string; commit?: string | undefined },
): Promise<{ mirror: string; commit: string }> {
  let mirror: string;
  try {
    mirror = await syncMirror(mirrorsDir, request.repoUrl);
  } catch (err) {
    // A remote that does not answer is transient: let the retry policy back off.
    const detail = err instanceof ProcessFailed ? err.tail.join('\n') : String(err);
    throw ApplicationFailure.retryable(`cannot fetch ${request.repoUrl}: ${detail}`, 'RepositoryUnavailable');
  }
  const commit = await revParse(mirror, request.commit ?? `refs/heads/${request.branch}`);
  if (!commit) {
    throw ApplicationFailure.nonRetryable(
      request.commit
        ? `commit ${request.commit} is not in ${request.repoUrl}: push it first, or check the sha`
        : `branch ${request.branch} is not in ${request.repoUrl}`,
      FailureType.UnknownCommit,
    );
  }
  return { mirror, commit };
}

/** cd4ml.yaml at a commit, validated, for the project the request names. */
export async function projectConfigAt(
  mirror: string,
  commit: string,
  request: { configPath: string; project: string },
): Promise<ProjectConfig> {
  const configText = await showFile(mirror, commit, request.configPath);
  if (configText === null) {
    throw ApplicationFailure.nonRetryable(
      `${request.configPath} not found at ${commit.slice(0, 8)}: add it to the repository (see README, "cd4ml.yaml")`,
      FailureType.ConfigInvalid,
    );
  }
  let config: ProjectConfig;
  try {
    config = parseProjectConfig(configText, `${request.configPath} at ${commit.slice(0, 8)}`);
  } catch (err) {
    if (err instanceof ConfigError) throw ApplicationFailure.nonRetryable(err.message, FailureType.ConfigInvalid);
    throw err;
  }
  if (config.project !== request.project) {
    throw ApplicationFailure.nonRetryable(
      `project: cd4ml.yaml names "${config.project}" but the request is for "${request.project}"`,
      FailureType.ConfigInvalid,
    );
  }
  return config;
}
