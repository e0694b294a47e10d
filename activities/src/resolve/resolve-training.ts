import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import {
  FailureType, TrainingRequest, type LocationConfig, type ProjectConfig, type TrainingRequestInput,
} from '@cd4ml/contracts';
import { showFile } from '../git/mirror.ts';
import { fetchCommit, parseRequest, projectConfigAt } from './project-at-commit.ts';
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
  const request = parseRequest(TrainingRequest, input, 'training request');

  const { mirror, commit } = await fetchCommit(deps.mirrorsDir, request);
  const config = await projectConfigAt(mirror, commit, request);

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
  if (request.budget !== undefined && (location.provider !== 'ec2' || location.hourlyPrice === undefined)) {
    throw ApplicationFailure.nonRetryable(
      location.provider === 'ec2'
        ? `--budget ${request.budget} needs the location's price: set locations.${request.location}.hourlyPrice (USD per hour) in ${request.configPath}`
        : `--budget ${request.budget} needs a location with a price: "${request.location}" is a ${location.provider} location, which has none; train on an ec2 location with hourlyPrice`,
      FailureType.ConfigInvalid,
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
