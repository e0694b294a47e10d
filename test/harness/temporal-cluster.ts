import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
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
import { schemaSteps, TEMPORAL_DATABASES } from './temporal-schema.ts';

const run = promisify(execFile);

const NAMESPACE = 'default';
const RETENTION_MS = 24 * 3600_000;
/** The server's namespace cache refreshes this often (system.namespaceCacheRefreshInterval): new search attributes reach history within it. */
const NAMESPACE_REFRESH_MS = 2_000;
const DB_USER = 'temporal';

/** Debian's newest PostgreSQL (/usr/lib/postgresql/<v>/bin), CD4ML_PG_BINDIR, or whatever is on PATH. */
function pgBin(name: 'initdb' | 'postgres' | 'pg_isready'): string {
  if (process.env.CD4ML_PG_BINDIR) return path.join(process.env.CD4ML_PG_BINDIR, name);
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', name))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin', name) : name;
}

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
export class TemporalCluster {
  private server?: ChildProcess;
  private postgres?: ChildProcess;
  private readonly password = randomBytes(12).toString('hex');
  /** As root, PostgreSQL runs as the `postgres` user (it refuses root). */
  private pgOwner?: { uid: number; gid: number };
  startTimes?: ClusterStartTimes;
  /** Set once `default` exists: from then on "answers" includes the namespace. */
  private namespaceRegistered = false;

  private constructor(readonly dir: string, private readonly ports: Ports) {}

  /** host:port of the frontend, for TEMPORAL_ADDRESS. */
  get address(): string {
    return `127.0.0.1:${this.ports.frontend}`;
  }

  get serverLog(): string {
    return path.join(this.dir, 'temporal-server.log');
  }

  get postgresLog(): string {
    return path.join(this.dir, 'postgres.log');
  }

  private get dataDir(): string {
    return path.join(this.dir, 'pgdata');
  }

  /** PostgreSQL's unix socket: in the temp folder, not /var/run/postgresql. */
  private get socketDir(): string {
    return path.join(this.dir, 'pgsocket');
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
    await this.initdb();
    await this.startPostgres();
    const t1 = Date.now();
    await this.createSchemas();
    const t2 = Date.now();
    await this.startServer();
    const t3 = Date.now();
    await this.registerNamespace();
    const t4 = Date.now();
    this.startTimes = { postgres: t1 - t0, schema: t2 - t1, server: t3 - t2, namespace: t4 - t3, total: t4 - t0 };
  }

  private async initdb(): Promise<void> {
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
        throw new Error('running as root, and PostgreSQL refuses root: need the `postgres` user (Debian\'s postgresql package creates it)');
      });
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
      this.pgOwner = { uid: Number(stdout), gid };
      await chmod(this.dir, 0o711);
    }
    const pwfile = path.join(this.dir, 'pgpass');
    await writeFile(pwfile, `${this.password}\n`, { mode: 0o600 });
    for (const p of [this.dataDir, this.socketDir]) await mkdir(p, { mode: 0o700 });
    if (this.pgOwner) for (const p of [pwfile, this.dataDir, this.socketDir]) await chown(p, this.pgOwner.uid, this.pgOwner.gid);
    try {
      await this.runAsPostgres(pgBin('initdb'), [
        '-D', this.dataDir, '-U', DB_USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync',
      ]);
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  private runAsPostgres(bin: string, args: string[]): Promise<{ stdout: string }> {
    const [cmd, argv] = this.asPostgres(bin, args);
    return run(cmd, argv, { env: { PATH: process.env.PATH, LC_ALL: 'C' } }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`${path.basename(bin)} failed: ${err.stderr || err.message}`);
    });
  }

  /** setpriv execs the command itself, so the child's pid is PostgreSQL's own. */
  private asPostgres(bin: string, args: string[]): [string, string[]] {
    return this.pgOwner
      ? ['setpriv', [`--reuid=${this.pgOwner.uid}`, `--regid=${this.pgOwner.gid}`, '--clear-groups', '--', bin, ...args]]
      : [bin, args];
  }

  /** Starts PostgreSQL on its port and data (again, after killPostgres: it recovers from its WAL) and waits until it accepts connections. */
  async startPostgres(): Promise<void> {
    if (this.postgres) throw new Error('PostgreSQL is running already');
    const log = await open(this.postgresLog, 'a');
    const [cmd, argv] = this.asPostgres(pgBin('postgres'), [
      '-D', this.dataDir, '-p', String(this.ports.postgres), '-k', this.socketDir,
      '-c', 'listen_addresses=127.0.0.1',
      // The server keeps 20 + 10 connections per service, and there are four services.
      '-c', 'max_connections=200',
      // A SIGKILL of every PostgreSQL process loses nothing without fsync: committed WAL is in
      // the OS page cache. Only an OS crash would need it. (synchronous_commit stays on.)
      '-c', 'fsync=off',
    ]);
    const child = spawn(cmd, argv, { stdio: ['ignore', log.fd, log.fd], env: { PATH: process.env.PATH, LC_ALL: 'C' } });
    await log.close();
    this.postgres = child;
    child.once('exit', () => {
      if (this.postgres === child) this.postgres = undefined;
    });
    await this.waitFor('PostgreSQL accepting connections', this.postgresLog, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`PostgreSQL exited (${child.exitCode ?? child.signalCode})`);
      const ok = await run(pgBin('pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(this.ports.postgres)]).then(() => true, () => false);
      return ok;
    });
  }

  /**
   * SIGKILL to PostgreSQL and all its processes at once, like a lost machine; returns when
   * they are gone. Its backends start sessions of their own (setsid), so no process group
   * holds them all: the postmaster is stopped first (it forks no more), then all die.
   */
  async killPostgres(): Promise<void> {
    const child = this.postgres;
    if (!child?.pid) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pids = [child.pid];
    signal(child.pid, 'SIGSTOP');
    pids.push(...descendantsOf(child.pid));
    for (const pid of pids) signal(pid, 'SIGKILL');
    await exited;
    this.postgres = undefined;
    // The backends are the postmaster's children, not ours: wait until the kernel has them dead too.
    while (pids.some(alive)) await sleep(20);
  }

  private sqlTool(db: string, ...args: string[]): Promise<{ stdout: string }> {
    return run(TEMPORAL_SQL_TOOL_BIN, ['--plugin', 'postgres12', '--db', db, ...args], {
      env: {
        PATH: process.env.PATH, SQL_HOST: '127.0.0.1', SQL_PORT: String(this.ports.postgres),
        SQL_USER: DB_USER, SQL_PASSWORD: this.password,
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
      POSTGRES_SEEDS: '127.0.0.1', DB_PORT: String(p.postgres), POSTGRES_USER: DB_USER, POSTGRES_PWD: this.password,
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
    await this.waitFor('the Temporal frontend to answer', this.serverLog, async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the Temporal server exited (${child.exitCode ?? child.signalCode})`);
      return this.withClient(async (client, connection) => {
        const { status } = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
        // 1 = SERVING. After a restart, the namespace must be back too.
        if (status !== 1) return false;
        if (this.namespaceRegistered) await client.workflowService.describeNamespace({ namespace: NAMESPACE });
        return true;
      }).catch(() => false);
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
      await this.waitFor('namespace default', this.serverLog, () =>
        client.workflowService.describeNamespace({ namespace: NAMESPACE }).then(() => true, () => false));
      await ensureSearchAttributes(client, NAMESPACE, () => undefined);
      const registered = Date.now();
      // The frontend validates names in queries against its namespace cache: once a query on all
      // of them passes, the cache has them; history's refreshes on the same interval.
      const query = Object.keys(SEARCH_ATTRIBUTES).map((name) => `${name} IS NOT NULL`).join(' AND ');
      await this.waitFor('the search attributes', this.serverLog, () =>
        client.workflowService.countWorkflowExecutions({ namespace: NAMESPACE, query }).then(() => true, () => false));
      await sleep(Math.max(0, registered + NAMESPACE_REFRESH_MS + 500 - Date.now()));
    });
    this.namespaceRegistered = true;
  }

  private async withClient<T>(fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
    try {
      return await fn(new Client({ connection, namespace: NAMESPACE }), connection);
    } finally {
      await connection.close();
    }
  }

  private async waitFor(what: string, logFile: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let failure: Error | undefined;
      try {
        if (await probe()) return;
      } catch (err) {
        failure = err as Error;
      }
      if (failure || Date.now() > deadline) {
        // The server logs JSON lines with long stack traces: the start of each line says enough.
        const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-20).map((l) => l.slice(0, 600)).join('\n');
        throw new Error(`${failure ? failure.message : 'timed out'} waiting for ${what}; last lines of ${logFile}:\n${tail}`);
      }
      await sleep(100);
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
    if (this.postgres?.pid) for (const pid of [this.postgres.pid, ...descendantsOf(this.postgres.pid)]) signal(pid, 'SIGKILL');
  }
}

// A test process that dies without afterAll must not leave servers behind.
const liveClusters = new Set<TemporalCluster>();
process.once('exit', () => {
  for (const c of liveClusters) c.killNow();
});

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/** Linux /proc/<pid>/stat: "pid (comm) state ppid ...". */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Dead or a zombie (an orphan's zombie waits for whatever reaps orphans here). */
const alive = (pid: number): boolean => {
  const st = statOf(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
};

function descendantsOf(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = statOf(Number(name));
    if (st) parents.set(st.ppid, [...(parents.get(st.ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const kid of parents.get(pid) ?? []) {
      out.push(kid);
      walk(kid);
    }
  };
  walk(root);
  return out;
}

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
