import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { SEARCH_ATTRIBUTES } from '@cd4ml/contracts';
import { ensureSearchAttributes } from '@cd4ml/workers/search-attributes';
import { freeStablePort } from './free-port.ts';
import { TEMPORAL_CONFIG_DIR, TEMPORAL_SERVER_BIN, TEMPORAL_SQL_TOOL_BIN } from './paths.ts';
import { Postgres } from './postgres.ts';
import { schemaSteps, TEMPORAL_DATABASES } from './temporal-schema.ts';
import { assertRunning, temporalAnswers, waitFor } from './wait-for.ts';

const run = promisify(execFile);

const NAMESPACE = 'default';
const RETENTION_MS = 24 * 3600_000;
/** The server's namespace cache refreshes this often (system.namespaceCacheRefreshInterval): new search attributes reach history within it. */
const NAMESPACE_REFRESH_MS = 2_000;
const DB_USER = 'temporal';

export interface ClusterStartTimes {
  /** initdb and the first start of PostgreSQL, ms. */
  postgres: number;
  /** Databases and schemas (temporal-sql-tool), ms. */
  schema: number;
  /** The Temporal server's start until its frontend answers, ms. */
  server: number;
  /** Namespace and search attributes registered and visible, ms. */
  namespace: number;
  total: number;
}

interface Ports {
  postgres: number;
  frontend: number;
  http: number;
  history: number;
  matching: number;
  worker: number;
  frontendMembership: number;
  historyMembership: number;
  matchingMembership: number;
  workerMembership: number;
}

/**
 * A real Temporal cluster for tests: the Temporal server (go.temporal.io/server, all four
 * services in one process, config deploy/temporal/postgresql.yaml) on its own PostgreSQL,
 * both on free loopback ports, all state in one temp folder. `killServer` / `killPostgres`
 * SIGKILL them (PostgreSQL with all its backends, like a lost machine); `startServer` /
 * `startPostgres` bring them back on the same ports and data.
 */
/**
 * A real Temporal cluster for tests: the Temporal server (go.temporal.io/server, all four
 * services in one process, config deploy/temporal/postgresql.yaml) on its own PostgreSQL,
 * both on free loopback ports, all state in one temp folder. `killServer` / `killPostgres`
 * SIGKILL them (PostgreSQL with all its backends, like a lost machine); `startServer` /
 * `startPostgres` bring them back on the same ports and data.
 */
export class TemporalCluster {
  private server?: ChildProcess;
  private readonly postgres: Postgres;
  startTimes?: ClusterStartTimes;
  /** Set once `default` exists: from then on "answers" includes the namespace. */
  private namespaceRegistered = false;

  private constructor(readonly dir: string, private readonly ports: Ports) {
    this.postgres = new Postgres(dir, ports.postgres, DB_USER, randomBytes(12).toString('hex'));
  }

  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }

  get serverLog(): string {
    return path.join(this.dir, 'temporal-server.log');
  }

  get postgresLog(): string {
    return this.postgres.log;
  }

  static async start(): Promise<TemporalCluster> {
    for (const bin of [TEMPORAL_SERVER_BIN, TEMPORAL_SQL_TOOL_BIN]) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`bash scripts/bootstrap.sh --test\` (make test does)`);
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-temporal-'));
    const cluster = new TemporalCluster(dir, await distinctFreePorts());
    liveClusters.add(cluster);
    try {
      await cluster.boot();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  private async boot(): Promise<void> {
    const t0 = Date.now();
    await this.postgres.initdb();
    await this.postgres.start();
    const t1 = Date.now();
    await this.createSchemas();
    const t2 = Date.now();
    await this.startServer();
    const t3 = Date.now();
    await this.registerNamespace();
    const t4 = Date.now();
    this.startTimes = { postgres: t1 - t0, schema: t2 - t1, server: t3 - t2, namespace: t4 - t3, total: t4 - t0 };
  }

  /** Starts PostgreSQL on its port and data (again, after killPostgres: it recovers from its WAL). */
  startPostgres(): Promise<void> {
    return this.postgres.start();
  }

  /** SIGKILL to PostgreSQL and all its backends, like a lost machine; returns when they are gone. */
  killPostgres(): Promise<void> {
    return this.postgres.kill();
  }

  private sqlTool(db: string, ...args: string[]): Promise<{ stdout: string }> {
    return run(TEMPORAL_SQL_TOOL_BIN, ['--plugin', 'postgres12', '--db', db, ...args], {
      env: {
        PATH: process.env.PATH, SQL_HOST: '127.0.0.1', SQL_PORT: String(this.ports.postgres),
        SQL_USER: DB_USER, SQL_PASSWORD: this.postgres.password,
      },
    }).catch((err: { stderr?: string; stdout?: string; message: string }) => {
      throw new Error(`temporal-sql-tool --db ${db} ${args.join(' ')} failed:\n${(err.stderr || err.stdout || err.message).slice(-3000)}`);
    });
  }

  /**
   * The databases, then each schema as an operator sets it up (schemaSteps; docker-compose.yml's
   * temporal-schema runs the same). The schema files are those of the go.temporal.io/server
   * module the tool was built from (embedded in the tool).
   */
  private async createSchemas(): Promise<void> {
    await Promise.all(Object.entries(TEMPORAL_DATABASES).map(async ([db, schema]) => {
      for (const step of schemaSteps(schema)) await this.sqlTool(db, ...step);
    }));
  }

  /** The config's template variables: everything else is in deploy/temporal/. */
  private serverEnv(): Record<string, string> {
    const p = this.ports;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? this.dir,
      POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(p.postgres), POSTGRES_USER: DB_USER, POSTGRES_PWD: this.postgres.password,
      BIND_ON_IP: '127.0.0.1',
      FRONTEND_GRPC_PORT: String(p.frontend), FRONTEND_HTTP_PORT: String(p.http),
      HISTORY_GRPC_PORT: String(p.history), MATCHING_GRPC_PORT: String(p.matching), WORKER_GRPC_PORT: String(p.worker),
      FRONTEND_MEMBERSHIP_PORT: String(p.frontendMembership), HISTORY_MEMBERSHIP_PORT: String(p.historyMembership),
      MATCHING_MEMBERSHIP_PORT: String(p.matchingMembership), WORKER_MEMBERSHIP_PORT: String(p.workerMembership),
      DYNAMIC_CONFIG_FILE_PATH: path.join(TEMPORAL_CONFIG_DIR, 'dynamicconfig.yaml'),
      LOG_LEVEL: process.env.CD4ML_TEMPORAL_SERVER_LOG_LEVEL ?? 'warn',
    };
  }

  /** Starts the Temporal server (again, after killServer: same ports, same database) and waits until its frontend answers. */
  async startServer(): Promise<void> {
    if (this.server) throw new Error('the Temporal server is running already');
    const log = await open(this.serverLog, 'a');
    const child = spawn(
      TEMPORAL_SERVER_BIN,
      ['--root', '/', '--config', TEMPORAL_CONFIG_DIR, '--env', 'postgresql', '--allow-no-auth', 'start'],
      { cwd: this.dir, stdio: ['ignore', log.fd, log.fd], env: this.serverEnv() },
    );
    await log.close();
    this.server = child;
    child.once('exit', () => {
      if (this.server === child) this.server = undefined;
    });
    await waitFor('the Temporal frontend to answer', this.serverLog, async () => {
      assertRunning(child, 'the Temporal server');
      // After a restart, the namespace must be back too.
      return temporalAnswers(this.address, this.namespaceRegistered ? NAMESPACE : undefined);
    });
  }

  /** SIGKILL to the Temporal server: no shutdown, like a crash. */
  async killServer(): Promise<void> {
    const child = this.server;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.server = undefined;
  }

  async restartServer(): Promise<void> {
    await this.killServer();
    await this.startServer();
  }

  async restartPostgres(): Promise<void> {
    await this.killPostgres();
    await this.startPostgres();
  }

  /** `default` (1 day retention) and cd4ml's search attributes, and waits until the server uses them. */
  private async registerNamespace(): Promise<void> {
    await this.withClient(async (client) => {
      await client.workflowService.registerNamespace({
        namespace: NAMESPACE, workflowExecutionRetentionPeriod: msToTs(RETENTION_MS),
      });
      await waitFor('namespace default', this.serverLog, () =>
        client.workflowService.describeNamespace({ namespace: NAMESPACE }).then(() => true, () => false));
      await ensureSearchAttributes(client, NAMESPACE, () => undefined);
      const registered = Date.now();
      // The frontend validates names in queries against its namespace cache: once a query on all
      // of them passes, the cache has them; history's refreshes on the same interval.
      const query = Object.keys(SEARCH_ATTRIBUTES).map((name) => `${name} IS NOT NULL`).join(' AND ');
      await waitFor('the search attributes', this.serverLog, () =>
        client.workflowService.countWorkflowExecutions({ namespace: NAMESPACE, query }).then(() => true, () => false));
      await sleep(Math.max(0, registered + NAMESPACE_REFRESH_MS + 500 - Date.now()));
    });
    this.namespaceRegistered = true;
  }

  private async withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
    try {
      return await fn(new Client({ connection, namespace: NAMESPACE }));
    } finally {
      await connection.close();
    }
  }

  /** SIGKILL to both (nothing to keep), then the folder goes unless CD4ML_KEEP_TEST_DIRS is set. */
  async stop(): Promise<void> {
    await this.killServer();
    await this.killPostgres();
    liveClusters.delete(this);
    if (!process.env.CD4ML_KEEP_TEST_DIRS) await rm(this.dir, { recursive: true, force: true });
  }

  /** For the exit handler: no awaiting there. */
  killNow(): void {
    this.server?.kill('SIGKILL');
    this.postgres.killNow();
  }
}

// A test process that dies without afterAll must not leave servers behind.
const liveClusters = new Set<TemporalCluster>();
process.once('exit', () => {
  for (const c of liveClusters) c.killNow();
});

/** Stable ports: the same ones serve again after a kill. (Membership ports must also fit the schema's smallint.) */
async function distinctFreePorts(): Promise<Ports> {
  const names = [
    'postgres', 'frontend', 'http', 'history', 'matching', 'worker',
    'frontendMembership', 'historyMembership', 'matchingMembership', 'workerMembership',
  ] as const;
  const taken = new Set<number>();
  const ports: Partial<Ports> = {};
  for (const name of names) {
    const port = await freeStablePort(taken);
    taken.add(port);
    ports[name] = port;
  }
  return ports as Ports;
}
