import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { CONTROL_TASK_QUEUE, type TemporalSettings } from '@cd4ml/contracts';
import { createControlActivities } from '@cd4ml/activities';
import { defaultBuilderSettings } from '@cd4ml/activities/image/builders';
import { instanceSecretSources, instanceTemporalValues } from '@cd4ml/activities/compute/ec2/user-data';
import { ensureSearchAttributes } from './search-attributes.ts';
import { connectTemporal } from './connect.ts';
import { DEFAULT_DEPLOYMENT, bundleBuildId, deploymentOptions, makeCurrentWhenPolling, type DeploymentSettings } from './deployment.ts';

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
  /**
   * Worker versioning (see deployment.ts). Default: deployment cd4ml-control, the bundle's
   * hash as build id, made current once polling. `false`: unversioned, for servers before 1.28.
   */
  deployment?: Partial<DeploymentSettings> | false;
}

export interface ControlWorker {
  worker: Worker;
  /** The version this worker polls as, unless unversioned. */
  deployment: DeploymentSettings | undefined;
  close: () => Promise<void>;
}

/** The control worker: all workflows, and the activities that do not need the training machine. */
export async function createControlWorker(opts: ControlWorkerOptions): Promise<ControlWorker> {
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
  const code = await workflowCode(opts.workflowBundle);
  const deployment = opts.deployment === false ? undefined : {
    deploymentName: DEFAULT_DEPLOYMENT, buildId: bundleBuildId(code), makeCurrent: true, ...opts.deployment,
  };
  const identity = `${process.pid}@${os.hostname()}${deployment ? ` ${deployment.deploymentName}.${deployment.buildId}` : ''}`;
  const worker = await Worker.create({
    connection,
    namespace,
    identity,
    taskQueue: CONTROL_TASK_QUEUE,
    workflowBundle: { code },
    ...(deployment ? { workerDeploymentOptions: deploymentOptions(deployment) } : {}),
    activities: createControlActivities({
      client,
      mirrorsDir: path.join(opts.home, 'mirrors'),
      defaultStore: opts.store,
      // An EC2 machine's location worker connects where this worker does; its secrets come from the instance (file or SSM), never from here.
      userData: { ...instanceTemporalValues(opts.temporal, instanceSecretSources(process.env)), cd4mlSource: process.env.CD4ML_SOURCE ?? '' },
      imageDir: path.join(opts.home, 'images'),
      builders: defaultBuilderSettings(path.join(opts.home, 'images')),
    }),
    // Image builds heartbeat their step to the CLI: send it within a second, as the location worker does.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  const rollout = new AbortController();
  if (deployment?.makeCurrent) void makeCurrentWhenPolling(client, namespace, deployment, identity, opts.log ?? (() => undefined), rollout.signal);
  return {
    worker, deployment,
    close: async () => {
      rollout.abort();
      await temporal.close();
    },
  };
}

/** The workflow bundle's code: given, prebuilt by `make build`, or bundled now (tsx). Its hash is the build id. */
async function workflowCode(given: ControlWorkerOptions['workflowBundle']): Promise<string> {
  if (given) return 'code' in given ? given.code : readFile(given.codePath, 'utf8');
  if (existsSync(prebuiltBundle)) return readFile(prebuiltBundle, 'utf8');
  return (await bundleWorkflowCode({ workflowsPath, logger: quietBundler })).code;
}

const quietBundler = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never;
