import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { CONTROL_TASK_QUEUE, type TemporalSettings } from '@cd4ml/contracts';
import { createControlActivities } from '@cd4ml/activities';
import { defaultBuilderSettings } from '@cd4ml/activities/image/builders';
import { ensureSearchAttributes } from './search-attributes.ts';
import { connectTemporal } from './connect.ts';

export const workflowsPath = fileURLToPath(new URL('../../workflows/src/index.ts', import.meta.url));
/** Written by `make build` beside the built worker: workflows bundled once, not at every start. */
const prebuiltBundle = fileURLToPath(new URL('./workflow-bundle.js', import.meta.url));

export interface ControlWorkerOptions {
  temporal: TemporalSettings;
  /** cd4ml's own state: repository mirrors, image builds. */
  home: string;
  /** Release store when cd4ml.yaml names none. */
  store: string;
  /** A prebuilt workflow bundle (tests bundle once for many workers). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  log?: (msg: string) => void;
}

/** The control worker: all workflows, and the activities that do not need the training machine. */
export async function createControlWorker(opts: ControlWorkerOptions): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const { address, namespace, apiKey, tls } = opts.temporal;
  const temporal = await connectTemporal(opts.temporal);
  const { client } = temporal;
  let connection: NativeConnection;
  try {
    await ensureSearchAttributes(client, namespace, opts.log ?? (() => undefined));
    connection = await temporal.native();
  } catch (err) {
    await temporal.close();
    throw err;
  }
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: CONTROL_TASK_QUEUE,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle }
      : existsSync(prebuiltBundle) ? { workflowBundle: { codePath: prebuiltBundle } } : { workflowsPath }),
    activities: createControlActivities({
      client,
      mirrorsDir: path.join(opts.home, 'mirrors'),
      defaultStore: opts.store,
      // An EC2 machine's location worker connects where this worker does (its key comes from the instance, not from here).
      userData: { temporalAddress: address, temporalNamespace: namespace, cd4mlSource: process.env.CD4ML_SOURCE ?? '' },
      imageDir: path.join(opts.home, 'images'),
      builders: defaultBuilderSettings(path.join(opts.home, 'images')),
    }),
    // Image builds heartbeat their step to the CLI: send it within a second, as the location worker does.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  return { worker, close: temporal.close };
}
