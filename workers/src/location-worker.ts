import { Command } from 'commander';
import { installTemporalLogging, logger } from './logger.ts';
import { locationTaskQueue, temporalSettings } from '@cd4ml/contracts';
import { createLocationWorker } from './location-worker-setup.ts';
import { defaultVenv, defaultWorkdir } from './paths.ts';

const opts = new Command('location-worker')
  .description('Runs training steps for one location against its persistent checkout')
  .requiredOption('--location <name>', 'location name, as in cd4ml.yaml', process.env.CD4ML_LOCATION)
  .option('--task-queue <name>', 'queue to poll (default cd4ml-location-<location>)', process.env.CD4ML_TASK_QUEUE)
  .option('--workdir <folder>', 'persistent checkouts (default .cd4ml/locations/<location>)')
  .option('--venv <folder>', 'Python venv with dvc and the project libraries', defaultVenv())
  .parse()
  .opts<{ location: string; taskQueue?: string; workdir?: string; venv: string }>();

installTemporalLogging();
const { worker, close } = await createLocationWorker({
  temporal: temporalSettings(),
  location: opts.location,
  taskQueue: opts.taskQueue,
  workdir: opts.workdir ?? defaultWorkdir(opts.location),
  venv: opts.venv,
});
logger.info({ taskQueue: opts.taskQueue ?? locationTaskQueue(opts.location), workdir: opts.workdir }, 'location worker: polling');
try {
  await worker.run();
} finally {
  await close();
}
