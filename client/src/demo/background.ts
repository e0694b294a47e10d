import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Long-lived demo processes (dev server, workers) that outlive `make demo`,
 * so runs can be inspected in the Web UI afterwards. Each has a pid file and
 * a log under .cd4ml/.
 */
export class Background {
  constructor(readonly home: string) {}

  private pidFile(name: string) {
    return path.join(this.home, 'run', `${name}.pid`);
  }

  logFile(name: string) {
    return path.join(this.home, 'logs', `${name}.log`);
  }

  async running(name: string): Promise<number | null> {
    try {
      const pid = Number((await readFile(this.pidFile(name), 'utf8')).trim());
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  async start(name: string, file: string, args: string[], env: Record<string, string> = {}): Promise<number> {
    await mkdir(path.dirname(this.pidFile(name)), { recursive: true });
    await mkdir(path.dirname(this.logFile(name)), { recursive: true });
    const log = await open(this.logFile(name), 'w');
    const child = spawn(file, args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: { ...process.env, ...env },
    });
    // A missing program is an 'error' event, not a throw: say what to do instead of crashing.
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`could not start ${name}: ${file}: ${err.message}; run "make bootstrap" to install it`)));
    });
    spawned.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    child.unref();
    await log.close();
    await spawned;
    await writeFile(this.pidFile(name), String(child.pid));
    return child.pid!;
  }

  async stop(name: string): Promise<boolean> {
    const pid = await this.running(name);
    await rm(this.pidFile(name), { force: true });
    if (pid === null) return false;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      await sleep(100);
    }
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    return true;
  }

  /** Waits for a line in a process's log (e.g. "polling"); shows the log's tail if it never comes. */
  async waitForLog(name: string, pattern: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = await readFile(this.logFile(name), 'utf8').catch(() => '');
      if (pattern.test(text)) return;
      if ((await this.running(name)) === null) break;
      await sleep(200);
    }
    const tail = (await readFile(this.logFile(name), 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    throw new Error(`${name} did not start (see ${this.logFile(name)}):\n${tail}`);
  }
}
