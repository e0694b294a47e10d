import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES, cliType } from '@cd4ml/contracts';
import { TEMPORAL_BIN } from './paths.ts';
import { freePort } from './free-port.ts';
import { assertRunning, temporalAnswers, waitFor } from './wait-for.ts';

export interface DevServerOptions {
  /** Register cd4ml's search attributes at start (default true). */
  searchAttributes?: boolean;
  /** Also serve the Web UI on this port. */
  uiPort?: number;
}

/**
 * The pinned Temporal CLI's dev server, started by the tests themselves rather than by the
 * SDK's `createLocal`: that gives the server 5 s to answer, which a cold page cache (the CLI
 * is a 200 MB binary) and a CI machine running several integration files at once exceed.
 * Here the server has a minute, and a failure shows its log.
 */
export class DevServer {
  private constructor(
    readonly address: string, readonly env: TestWorkflowEnvironment,
    private readonly child: ChildProcess, private readonly dir: string,
  ) {}

  static async start(opts: DevServerOptions = {}): Promise<DevServer> {
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-dev-server-'));
    const logFile = path.join(dir, 'server.log');
    const args = [
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', 'default',
      '--log-level', 'error', '--log-format', 'pretty',
      ...(opts.uiPort ? ['--ui-port', String(opts.uiPort)] : ['--headless']),
      ...(opts.searchAttributes === false ? [] : Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${cliType(type)}`])),
    ];
    const log = await open(logFile, 'a');
    const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', log.fd, log.fd] });
    await log.close();
    const address = `127.0.0.1:${port}`;
    try {
      await waitFor(`the Temporal dev server (${TEMPORAL_BIN}) at ${address}`, logFile, async () => {
        assertRunning(child, 'the Temporal dev server');
        // The namespace and the search attributes come up with the frontend; a describe proves the first.
        return temporalAnswers(address, 'default');
      }, 60_000, 200);
      return new DevServer(address, await TestWorkflowEnvironment.createFromExistingServer({ address, namespace: 'default' }), child, dir);
    } catch (err) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.env.teardown();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const killed = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killed);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
