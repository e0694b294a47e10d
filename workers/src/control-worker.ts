import { Command } from 'commander';
import { installTemporalLogging, logger } from './logger.ts';
import { temporalSettings } from '@cd4ml/contracts';
import { createControlWorker } from './control-worker-setup.ts';
import { cd4mlHome, defaultStore } from './paths.ts';
import { exitOnSetupError } from './connect.ts';
import { DEFAULT_DEPLOYMENT } from './deployment.ts';

const opts = new Command('control-worker')
  .description('Runs cd4ml workflows and the control activities (task queue cd4ml-control)')
  .option('--store <folder|s3://bucket/prefix>', 'release store when cd4ml.yaml names none', defaultStore())
  .option('--home <folder>', 'state folder (repository mirrors)', cd4mlHome())
  .option('--deployment <name>', 'Worker Deployment to poll as (env CD4ML_DEPLOYMENT_NAME)', process.env.CD4ML_DEPLOYMENT_NAME || DEFAULT_DEPLOYMENT)
  .option('--build-id <id>', 'this version\'s build id (env CD4ML_BUILD_ID; default: a hash of the workflow bundle)', process.env.CD4ML_BUILD_ID || undefined)
  .option('--no-make-current', 'do not route new trainings to this version; roll out with `temporal worker deployment set-current-version` (env CD4ML_MAKE_CURRENT=false)')
  .option('--unversioned', 'poll without Worker Deployments, for a Temporal server before 1.28 (env CD4ML_WORKER_VERSIONING=off)')
  .parse()
  .opts<{ store: string; home: string; deployment: string; buildId?: string; makeCurrent: boolean; unversioned?: boolean }>();

const versioned = !(opts.unversioned || process.env.CD4ML_WORKER_VERSIONING === 'off');
const deployment = versioned && {
  deploymentName: opts.deployment,
  ...(opts.buildId ? { buildId: opts.buildId } : {}),
  makeCurrent: opts.makeCurrent && process.env.CD4ML_MAKE_CURRENT !== 'false',
};

installTemporalLogging();
const { worker, close, deployment: version } = await createControlWorker({
  temporal: temporalSettings(), home: opts.home, store: opts.store, deployment, log: (msg) => logger.info(msg),
}).catch((err: unknown) => exitOnSetupError(err));
logger.info({ taskQueue: 'cd4ml-control', store: opts.store, ...(version ? { deployment: version.deploymentName, buildId: version.buildId } : {}) }, 'control worker: polling');
try {
  await worker.run(); // returns after SIGINT/SIGTERM, once running tasks finish
} finally {
  await close();
}
