import { Command } from 'commander';
import { installTemporalLogging, logger } from './logger.ts';
import { temporalSettings } from '@cd4ml/contracts';
import { createControlWorker } from './control-worker-setup.ts';
import { cd4mlHome, defaultStore } from './paths.ts';
import { exitOnSetupError } from './connect.ts';

const opts = new Command('control-worker')
  .description('Runs cd4ml workflows and the control activities (task queue cd4ml-control)')
  .option('--store <folder|s3://bucket/prefix>', 'release store when cd4ml.yaml names none', defaultStore())
  .option('--home <folder>', 'state folder (repository mirrors)', cd4mlHome())
  .parse()
  .opts<{ store: string; home: string }>();

installTemporalLogging();
const { worker, close } = await createControlWorker({ temporal: temporalSettings(), home: opts.home, store: opts.store, log: (msg) => logger.info(msg) })
  .catch((err: unknown) => exitOnSetupError(err));
logger.info({ taskQueue: 'cd4ml-control', store: opts.store }, 'control worker: polling');
try {
  await worker.run(); // returns after SIGINT/SIGTERM, once running tasks finish
} finally {
  await close();
}
