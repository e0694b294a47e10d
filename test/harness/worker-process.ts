import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

/**
 * A worker as its own OS process (node --import tsx, no wrapper process), so a
 * test can SIGKILL it mid-step the way a crash or a lost machine would.
 */
export class WorkerProcess {
  private output = '';
  private exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess, readonly name: string) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static async start(kind: 'control' | 'location', env: Record<string, string>, args: string[] = []): Promise<WorkerProcess> {
    const worker = WorkerProcess.spawn(kind, env, args);
    await worker.waitFor(/worker: polling/, 90_000);
    return worker;
  }

  /** Starts the process without waiting for it to poll (e.g. to see it refuse to start). */
  static spawn(kind: 'control' | 'location', env: Record<string, string>, args: string[] = [], { built = false } = {}): WorkerProcess {
    // Built: the JavaScript `make build` writes, run with plain node as production does.
    const command = built
      ? [path.join(REPO_ROOT, 'workers/dist', `${kind}-worker.js`)]
      : ['--import', 'tsx', path.join(REPO_ROOT, 'workers/src', `${kind}-worker.ts`)];
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WorkerProcess(child, kind);
  }

  /** Its exit code once it has exited (null when killed by a signal). */
  exitCode(): Promise<number | null> {
    return this.exited;
  }

  /** Not exited (nor killed) yet. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get log(): string {
    return this.output;
  }

  async waitFor(pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${this.name} worker: no ${pattern} in its output:\n${this.output.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL: no shutdown, no cleanup, like a crash. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the worker drains and exits. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
