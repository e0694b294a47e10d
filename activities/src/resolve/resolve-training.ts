import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import {
  ConfigError, FailureType, TrainingRequest, parseProjectConfig,
  type LocationConfig, type ProjectConfig, type TrainingRequestInput,
} from '@cd4ml/contracts';
import { revParse } from '../git/git.ts';
import { showFile, syncMirror } from '../git/mirror.ts';
import { ProcessFailed } from '../process/run-process.ts';
import { readToken } from '../release/gitlab/client.ts';
import { releasePageLinks } from '../release/gitlab/release-page.ts';

export interface TrainingPlan {
  request: TrainingRequest;
  commit: string;
  config: ProjectConfig;
  location: LocationConfig;
  /** Folder of the DVC project (where cd4ml.yaml is) inside the repository; '.' for the root. */
  projectDir: string;
  /** Release store root: a folder or s3:// url. */
  store: string;
}

/**
 * Everything that can be checked before a machine starts: the request, the
 * commit, cd4ml.yaml at that commit, the pipeline, the location. Bad input
 * fails here, non-retryable, with what was wrong.
 */
export async function resolveTraining(
  deps: { mirrorsDir: string; defaultStore: string },
  input: TrainingRequestInput,
): Promise<TrainingPlan> {
  const parsed = TrainingRequest.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`);
    throw ApplicationFailure.nonRetryable(`invalid training request:\n  - ${problems.join('\n  - ')}`, FailureType.ConfigInvalid);
  }
  const request = parsed.data;

  let mirror: string;
  try {
    mirror = await syncMirror(deps.mirrorsDir, request.repoUrl);
  } catch (err) {
    // A remote that does not answer is transient: let the retry policy back off.
    const detail = err instanceof ProcessFailed ? err.tail.join('\n') : String(err);
    throw ApplicationFailure.retryable(`cannot fetch ${request.repoUrl}: ${detail}`, 'RepositoryUnavailable');
  }

  const ref = request.commit ?? `refs/heads/${request.branch}`;
  const commit = await revParse(mirror, ref);
  if (!commit) {
    throw ApplicationFailure.nonRetryable(
      request.commit
        ? `commit ${request.commit} is not in ${request.repoUrl}: push it first, or check the sha`
        : `branch ${request.branch} is not in ${request.repoUrl}`,
      FailureType.UnknownCommit,
    );
  }

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

  const projectDir = path.posix.dirname(request.configPath);
  const dvcYaml = path.posix.join(projectDir, 'dvc.yaml');
  if ((await showFile(mirror, commit, dvcYaml)) === null) {
    throw ApplicationFailure.nonRetryable(
      `${dvcYaml} not found at ${commit.slice(0, 8)}: cd4ml runs a DVC pipeline; create one with "dvc stage add"`,
      FailureType.MissingPipeline,
    );
  }

  const location = config.locations[request.location];
  if (!location) {
    throw ApplicationFailure.nonRetryable(
      `unknown location "${request.location}": cd4ml.yaml declares ${Object.keys(config.locations).map((l) => `"${l}"`).join(', ')}`,
      FailureType.UnknownLocation,
    );
  }
  const store = config.store ?? deps.defaultStore;
  if (config.gitlab) {
    // Now rather than after the training: the release page needs its token and links GitLab accepts.
    readToken(config.gitlab.tokenEnv, process.env);
    releasePageLinks({ gitlab: config.gitlab, store, project: request.project, tag: request.releaseTag });
  }
  return { request, commit, config, location, projectDir, store };
}
