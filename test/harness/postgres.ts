import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { alive, descendantsOf, signal } from './process-tree.ts';
import { assertRunning, waitFor } from './wait-for.ts';

const run = promisify(execFile);

/** Debian's newest PostgreSQL (/usr/lib/postgresql/<v>/bin), CD4ML_PG_BINDIR, or whatever is on PATH. */
function pgBin(name: 'initdb' | 'postgres' | 'pg_isready'): string {
  if (process.env.CD4ML_PG_BINDIR) return path.join(process.env.CD4ML_PG_BINDIR, name);
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', name))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin', name) : name;
}

/**
 * A PostgreSQL of its own for a test cluster: data, socket and log in `dir`, listening on
 * 127.0.0.1:`port`, one password-authenticated user. `kill` is a SIGKILL to every process,
 * like a lost machine; `start` again recovers from the WAL on the same port.
 */
export class Postgres {
  private child?: ChildProcess;
  /** As root, PostgreSQL runs as the `postgres` user (it refuses root). */
  private owner?: { uid: number; gid: number };

  constructor(private readonly dir: string, readonly port: number, readonly user: string, readonly password: string) {}

  get log(): string {
    return path.join(this.dir, 'postgres.log');
  }

  private get dataDir(): string {
    return path.join(this.dir, 'pgdata');
  }

  /** Its unix socket: in the temp folder, not /var/run/postgresql. */
  private get socketDir(): string {
    return path.join(this.dir, 'pgsocket');
  }

  async initdb(): Promise<void> {
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']).catch(() => {
        throw new Error('running as root, and PostgreSQL refuses root: need the `postgres` user (Debian\'s postgresql package creates it)');
      });
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
      this.owner = { uid: Number(stdout), gid };
      await chmod(this.dir, 0o711);
    }
    const pwfile = path.join(this.dir, 'pgpass');
    await writeFile(pwfile, `${this.password}\n`, { mode: 0o600 });
    for (const p of [this.dataDir, this.socketDir]) await mkdir(p, { mode: 0o700 });
    if (this.owner) for (const p of [pwfile, this.dataDir, this.socketDir]) await chown(p, this.owner.uid, this.owner.gid);
    try {
      await this.runAsOwner(pgBin('initdb'), [
        '-D', this.dataDir, '-U', this.user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync',
      ]);
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  /** Starts it on its port and data (again, after kill: it recovers from its WAL) and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.child) throw new Error('PostgreSQL is running already');
    const log = await open(this.log, 'a');
    const [cmd, argv] = this.asOwner(pgBin('postgres'), [
      '-D', this.dataDir, '-p', String(this.port), '-k', this.socketDir,
      '-c', 'listen_addresses=127.0.0.1',
      // The Temporal server keeps 20 + 10 connections per service, and there are four services.
      '-c', 'max_connections=200',
      // A SIGKILL of every PostgreSQL process loses nothing without fsync: committed WAL is in
      // the OS page cache. Only an OS crash would need it. (synchronous_commit stays on.)
      '-c', 'fsync=off',
    ]);
    const child = spawn(cmd, argv, { stdio: ['ignore', log.fd, log.fd], env: { PATH: process.env.PATH, LC_ALL: 'C' } });
    await log.close();
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor('PostgreSQL accepting connections', this.log, async () => {
      assertRunning(child, 'PostgreSQL');
      return run(pgBin('pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(this.port)]).then(() => true, () => false);
    });
  }

  /**
   * SIGKILL to PostgreSQL and all its processes at once; returns when they are gone. Its
   * backends start sessions of their own (setsid), so no process group holds them all: the
   * postmaster is stopped first (it forks no more), then all die.
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const pids = [child.pid];
    signal(child.pid, 'SIGSTOP');
    pids.push(...descendantsOf(child.pid));
    for (const pid of pids) signal(pid, 'SIGKILL');
    await exited;
    this.child = undefined;
    // The backends are the postmaster's children, not ours: wait until the kernel has them dead too.
    while (pids.some(alive)) await sleep(20);
  }

  /** For an exit handler: no awaiting there. */
  killNow(): void {
    if (this.child?.pid) for (const pid of [this.child.pid, ...descendantsOf(this.child.pid)]) signal(pid, 'SIGKILL');
  }

  private runAsOwner(bin: string, args: string[]): Promise<{ stdout: string }> {
    const [cmd, argv] = this.asOwner(bin, args);
    return run(cmd, argv, { env: { PATH: process.env.PATH, LC_ALL: 'C' } }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`${path.basename(bin)} failed: ${err.stderr || err.message}`);
    });
  }

  /** setpriv execs the command itself, so the child's pid is PostgreSQL's own. */
  private asOwner(bin: string, args: string[]): [string, string[]] {
    return this.owner
      ? ['setpriv', [`--reuid=${this.owner.uid}`, `--regid=${this.owner.gid}`, '--clear-groups', '--', bin, ...args]]
      : [bin, args];
  }
}
