import { Command } from 'commander';
import { installTemporalLogging, logger } from './logger.ts';
import { temporalSettings } from '@cd4ml/contracts';
import { createLocationWorker } from './location-worker-setup.ts';
import { LocationTaken } from './location-fence.ts';
import { defaultVenv, defaultWorkdir } from './paths.ts';
import { exitOnSetupError } from './connect.ts';
import { imdsEndpoint } from '@cd4ml/activities/compute/ec2/interruption';

const opts = new Command('location-worker')
  .description('Runs training steps for one location against its persistent checkout')
  .requiredOption('--location <name>', 'location name, as in cd4ml.yaml', process.env.CD4ML_LOCATION)
  .option('--task-queue <name>', 'queue to poll (default cd4ml-location-<location>)', process.env.CD4ML_TASK_QUEUE)
  .option('--workdir <folder>', 'persistent checkouts (default .cd4ml/locations/<location>)')
  .option('--venv <folder>', 'Python venv with dvc and the project libraries', defaultVenv())
  .option('--replace', 'take over from a live worker of this location (it finishes its running training, then stops)', false)
  .parse()
  .opts<{ location: string; taskQueue?: string; workdir?: string; venv: string; replace: boolean }>();

installTemporalLogging();
let worker;
try {
  worker = await createLocationWorker({
    temporal: temporalSettings(),
    location: opts.location,
    taskQueue: opts.taskQueue,
    workdir: opts.workdir ?? defaultWorkdir(opts.location),
    venv: opts.venv,
    replace: opts.replace,
    log: (msg) => logger.info(msg),
    imdsEndpoint: imdsEndpoint(),
  });
} catch (err) {
  if (!(err instanceof LocationTaken)) exitOnSetupError(err);
  logger.error({ other: err.other.identity }, err.message);
  process.exit(2);
}
const { identity, queue, checkoutQueue } = worker.identity;
logger.info({ identity, taskQueue: queue, checkoutQueue }, 'location worker: polling');
try {
  await worker.run(); // returns after SIGINT/SIGTERM, or once replaced and its last training is done
} finally {
  await worker.close();
}
