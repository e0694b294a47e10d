import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { type Client, type WorkflowHandle } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, trainWorkflowId, type TemporalSettings, type TrainingRequestInput, type TrainingResult } from '@cd4ml/contracts';
import { createControlWorker, createLocationWorker, workflowsPath, type ControlWorkerOptions, type LocationWorker } from '@cd4ml/workers';
import { ExampleRepo, type ExampleRepoOptions } from '@cd4ml/client/demo/example-repo';
import { VENV } from './paths.ts';
import { WorkerProcess } from './worker-process.ts';
import { freePort } from './free-port.ts';
import { TemporalCluster } from './temporal-cluster.ts';
import { DevServer } from './dev-server.ts';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Webpack-bundling the workflows takes seconds: once per test process. */
export const workflowBundle = () => (bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietLogger }));

const quietLogger = {
  log() {}, trace() {}, debug() {}, info() {}, warn() {}, error(m: string, meta?: unknown) { console.error(m, meta); },
} as never;

export interface RunningWorker {
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Names the location worker's checkout folder (default: the location's name). */
  checkout?: string;
  taskQueue?: string;
  /** --replace: take over from a live worker of the location. */
  replace?: boolean;
  /** Run the built JavaScript (workers/dist, see scripts/build.ts) with plain node. */
  built?: boolean;
}

export interface StackOptions {
  /** The release store: a folder or s3://bucket/prefix. Default: <dir>/releases. */
  store?: string;
  example?: ExampleRepoOptions;
  /** Also serve the Temporal Web UI (on a free port, see `uiUrl`); dev server only. */
  ui?: boolean;
  /**
   * `dev` (default): the Temporal CLI's dev server. `cluster`: the Temporal server on
   * PostgreSQL, as in production (test/harness/temporal-cluster.ts), reachable through
   * `stack.cluster` to kill and restart either. CD4ML_TEST_TEMPORAL=cluster makes `cluster`
   * the default, to run other files on it (those that ask for the Web UI stay on the dev server).
   */
  temporal?: 'dev' | 'cluster';
}

/**
 * One test stack: a real Temporal (the pinned CLI's dev server, or the Temporal server on
 * PostgreSQL) on free ports, a scratch folder holding the release store, the example
 * repository and the location's persistent checkout, and helpers to run workers in this
 * process or as OS processes.
 */
export class Stack {
  readonly store: string;
  readonly home: string;
  readonly example: ExampleRepo;
  private readonly workers: RunningWorker[] = [];
  private readonly processes: WorkerProcess[] = [];

  private constructor(
    readonly env: TestWorkflowEnvironment, readonly dir: string, private readonly opts: StackOptions,
    private readonly temporalCluster?: TemporalCluster, private readonly devServer?: DevServer,
  ) {
    this.store = opts.store ?? path.join(dir, 'releases');
    this.home = path.join(dir, 'home');
    this.example = new ExampleRepo(path.join(dir, 'example'), VENV, opts.example);
  }

  /** In-process workers see this process's environment; give spawned ones more with spawnWorker's `extraEnv`. */
  static async start(opts: StackOptions = {}): Promise<Stack> {
    const temporal = opts.temporal ?? (process.env.CD4ML_TEST_TEMPORAL === 'cluster' && !opts.ui ? 'cluster' : 'dev');
    if (temporal === 'cluster') return Stack.startOnCluster(opts);
    const uiPort = opts.ui ? await freePort() : undefined;
    const devServer = await DevServer.start({ uiPort });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-test-'));
    const stack = new Stack(devServer.env, dir, opts, undefined, devServer);
    stack.uiUrl = uiPort ? `http://127.0.0.1:${uiPort}` : undefined;
    return stack;
  }

  private static async startOnCluster(opts: StackOptions): Promise<Stack> {
    if (opts.ui) throw new Error('Stack: the Web UI comes with the dev server only (temporal: \'dev\')');
    const cluster = await TemporalCluster.start();
    try {
      const env = await TestWorkflowEnvironment.createFromExistingServer({ address: cluster.address, namespace: 'default' });
      return new Stack(env, await mkdtemp(path.join(os.tmpdir(), 'cd4ml-test-')), opts, cluster);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** The Temporal server on PostgreSQL, to kill and restart: only with `temporal: 'cluster'`. */
  get cluster(): TemporalCluster {
    if (!this.temporalCluster) throw new Error('Stack: started on the dev server; start it with { temporal: \'cluster\' }');
    return this.temporalCluster;
  }

  /** The Web UI, when started with `ui`. */
  uiUrl: string | undefined;

  get client(): Client {
    return this.env.client;
  }

  get temporal(): TemporalSettings {
    return { address: this.env.address, namespace: 'default', tls: false };
  }

  /** <store>/penguins/<tag>: where a release of the example is published. */
  releaseDir(tag: string): string {
    return path.join(this.store, 'penguins', tag);
  }

  released(tag: string): boolean {
    return existsSync(path.join(this.releaseDir(tag), 'release.json'));
  }

  workdir(location: string): string {
    return path.join(this.dir, 'locations', location);
  }

  /** `deployment`: the Worker Deployment version to poll as (default: cd4ml-control, the bundle's hash). */
  async startControlWorker(deployment?: ControlWorkerOptions['deployment']): Promise<RunningWorker> {
    const { worker, close } = await createControlWorker({
      temporal: this.temporal, home: this.home, store: this.store, workflowBundle: await workflowBundle(), deployment,
    });
    return this.track(worker, close);
  }

  /** `checkout` names the machine's disk: a launched instance brings a fresh one. */
  /** `imdsEndpoint`: the instance metadata service its spot watch polls (a FakeImds). */
  async startLocationWorker(location = 'local', checkout = location, taskQueue?: string, imdsEndpoint?: string): Promise<RunningWorker> {
    const worker = await createLocationWorker({
      temporal: this.temporal, location, taskQueue, workdir: this.workdir(checkout), venv: VENV, ...(imdsEndpoint ? { imdsEndpoint } : {}),
    });
    return this.track(worker, () => worker.close());
  }

  /** Workers as OS processes, for crash tests. */
  async spawnWorker(
    kind: 'control' | 'location', location = 'local', extraEnv: Record<string, string> = {},
    opts: SpawnOptions = {},
  ): Promise<WorkerProcess> {
    const proc = this.spawnWorkerNoWait(kind, location, extraEnv, opts);
    await proc.waitFor(/worker: polling/, 90_000);
    return proc;
  }

  /** The same, returning at once: for a worker expected to refuse to start. */
  spawnWorkerNoWait(
    kind: 'control' | 'location', location = 'local', extraEnv: Record<string, string> = {},
    { checkout = location, taskQueue, replace, built }: SpawnOptions = {},
  ): WorkerProcess {
    const env = { TEMPORAL_ADDRESS: this.env.address, CD4ML_HOME: this.home, CD4ML_STORE: this.store, CD4ML_VENV: VENV, ...extraEnv };
    const args = kind === 'location'
      ? ['--location', location, '--workdir', this.workdir(checkout), ...(taskQueue ? ['--task-queue', taskQueue] : []), ...(replace ? ['--replace'] : [])]
      : [];
    const proc = WorkerProcess.spawn(kind, env, args, { built });
    this.processes.push(proc);
    return proc;
  }

  private track(worker: Worker | LocationWorker, close: () => Promise<void>): RunningWorker {
    const running = worker.run();
    const handle: RunningWorker = {
      stop: async () => {
        if (!('getState' in worker)) worker.shutdown();
        else if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
        await close();
        this.workers.splice(this.workers.indexOf(handle), 1);
      },
    };
    this.workers.push(handle);
    return handle;
  }

  async startTraining(req: Partial<TrainingRequestInput> & { releaseTag: string }): Promise<WorkflowHandle> {
    const request: TrainingRequestInput = {
      project: 'penguins', repoUrl: this.example.repoUrl, branch: 'main', location: 'local',
      requestedBy: 'test', reason: 'test', ...req,
    };
    return this.client.workflow.start('trainModel', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: trainWorkflowId(request.project, request.releaseTag),
      args: [request],
    });
  }

  async train(req: Partial<TrainingRequestInput> & { releaseTag: string }): Promise<TrainingResult> {
    return (await this.startTraining(req)).result();
  }

  async stop(): Promise<void> {
    for (const w of [...this.workers].reverse()) await w.stop();
    for (const p of this.processes) await p.stop();
    await (this.devServer ? this.devServer.stop() : this.env.teardown());
    await this.temporalCluster?.stop();
    if (!process.env.CD4ML_KEEP_TEST_DIRS) await rm(this.dir, { recursive: true, force: true });
  }
}
