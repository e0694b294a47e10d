import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, TEMPORAL_BIN, VENV } from '../harness/paths.ts';
import { freePort } from '../harness/free-port.ts';

/**
 * `make demo` from two clones on one machine: each keeps to the Temporal server it
 * started itself. A clone is its state folder (CD4ML_HOME, `.cd4ml/` of a checkout).
 */
describe('the demo keeps to its own stack (real dev server, workers, dvc, git)', () => {
  let dir: string;
  let port: number;
  const homes = { first: '', second: '' };

  const demo = (home: string, ...args: string[]) =>
    execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'demo', ...args], {
      cwd: REPO_ROOT, reject: false, all: true,
      env: { CD4ML_HOME: home, CD4ML_VENV: VENV, CD4ML_TEMPORAL_BIN: TEMPORAL_BIN, USER: 'tester' },
    });
  const ports = async () => {
    const p = await freePort();
    return ['--port', String(p), '--ui-port', String(await freePort())];
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-demo-'));
    homes.first = path.join(dir, 'first', '.cd4ml');
    homes.second = path.join(dir, 'second', '.cd4ml');
    port = await freePort();
  });
  afterAll(async () => {
    for (const home of Object.values(homes)) if (home) await demo(home, 'stop');
    if (dir && !process.env.CD4ML_KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
  });

  it('the first clone trains v1.0 on its own server', async () => {
    const run = await demo(homes.first, '--port', String(port), '--ui-port', String(await freePort()));
    expect(run.all).toContain(`Temporal dev server started at localhost:${port}`);
    expect(run.all).toMatch(/ACCEPTED: v1\.0/);
    expect(run.exitCode).toBe(0);
  }, 300_000);

  it('a second clone does not join the first clone\'s server: it says what to do and starts nothing', async () => {
    const run = await demo(homes.second, '--port', String(port), '--ui-port', String(await freePort()));
    expect(run.exitCode).toBe(1);
    expect(run.all).toContain(`port ${port} is in use, and not by this checkout's demo (its state is in ${homes.second})`);
    expect(run.all).toContain('make stop');
    expect(run.all).toMatch(/CD4ML_DEMO_PORT=\d+ make demo/);
    const pids = existsSync(path.join(homes.second, 'run')) ? await readdir(path.join(homes.second, 'run')) : [];
    expect(pids.filter((f) => f.endsWith('.pid'))).toEqual([]);
  }, 120_000);

  it('on a port of its own, the second clone trains its own v1.0', async () => {
    const run = await demo(homes.second, ...(await ports()));
    expect(run.all).toMatch(/ACCEPTED: v1\.0/);
    expect(run.exitCode).toBe(0);
  }, 300_000);

  it('the first clone\'s next training is accepted on its server, gated against its v1.0', async () => {
    const run = await demo(homes.first, '--port', String(port));
    expect(run.all).toContain(`Temporal dev server at localhost:${port} (already running)`);
    expect(run.all).toMatch(/ACCEPTED: v1\.1/);
    expect(run.all).toMatch(/baseline[^\n]*v1\.0/);
    expect(run.exitCode).toBe(0);
  }, 300_000);

  it('after "make clean-demo" the tags continue past the runs the server already has', async () => {
    await rm(path.join(homes.first, 'demo'), { recursive: true, force: true });
    const run = await demo(homes.first, '--port', String(port));
    expect(run.all).toMatch(/ACCEPTED: v1\.2/);
    expect(run.exitCode).toBe(0);
  }, 300_000);
});
