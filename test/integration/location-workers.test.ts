import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../harness/stack.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { activityRunsOf, waitUntil, type ActivityRun } from '../harness/training-probes.ts';

/** The identity a location worker process shows: `<pid>@<host>:<checkout folder>`. */
const identityOf = (worker: WorkerProcess, workdir: string) => `${worker.pid}@${os.hostname()}:${workdir}`;

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

/** The activities a run started after its last checkout, with who started them. */
function afterLastCheckout(runs: ActivityRun[]): ActivityRun[] {
  const last = runs.map((r) => r.name).lastIndexOf('checkout');
  return runs.slice(last);
}

/** One location, one checkout: fencing a second worker, and sticky steps when a worker dies. */
describe('location workers (workers as processes, real Temporal, dvc, git)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    await stack.startControlWorker();
  });
  afterAll(async () => stack?.stop());

  it('a second worker for a served location refuses to start; with --replace it takes over and trainings run whole on it', async () => {
    const first = await stack.spawnWorker('location', 'local', {}, { checkout: 'a' });

    const refused = stack.spawnWorkerNoWait('location', 'local', {}, { checkout: 'b' });
    expect(await refused.exitCode()).toBe(2);
    expect(refused.log).toContain(`already served by ${identityOf(first, stack.workdir('a'))}`);
    expect(refused.log).toContain('--replace');

    const second = await stack.spawnWorker('location', 'local', {}, { checkout: 'b', replace: true });
    // The first served no training: it steps aside and exits by itself.
    expect(await first.exitCode()).toBe(0);
    expect(first.log).toContain(`replaced by ${identityOf(second, stack.workdir('b'))}`);

    const handle = await stack.startTraining({ releaseTag: 'v1.0' });
    expect((await handle.result()).decision).toBe('accepted');
    const runs = activityRunsOf(await handle.fetchHistory(), { workers: true }).filter((r) => r.taskQueue?.startsWith('cd4ml-location-local'));
    expect(runs.map((r) => r.name)).toEqual(['checkout', 'dvcPull', 'dvcRepro', 'stageCandidate', 'dvcPush', 'tagRelease']);
    expect(new Set(runs.map((r) => r.identity))).toEqual(new Set([identityOf(second, stack.workdir('b'))]));
    expect(existsSync(path.join(stack.workdir('a'), 'penguins'))).toBe(false);
    await second.stop();
  });

  it('a worker killed after checkout: the training starts over on the other worker and every later step stays there', async () => {
    const doomed = await stack.spawnWorker('location', 'local', {}, { checkout: 'c' });
    const handle = await stack.startTraining({ releaseTag: 'v1.1', reason: 'worker killed after checkout' });
    await waitUntil('the first checkout to complete', async () =>
      activityRunsOf(await handle.fetchHistory(), { workers: true }).some((r) => r.name === 'checkout' && r.outcome === 'completed'));
    await doomed.kill();
    const survivor = await stack.spawnWorker('location', 'local', {}, { checkout: 'd' });

    const result = await handle.result();
    expect(result.decision).toBe('accepted');
    expect(result.notes?.join('\n')).toMatch(/did not come back for \w+ within 1 minute: starting again from checkout/);

    const runs = activityRunsOf(await handle.fetchHistory(), { workers: true });
    const checkouts = runs.filter((r) => r.name === 'checkout');
    expect(checkouts.map((r) => r.identity)).toEqual([identityOf(doomed, stack.workdir('c')), identityOf(survivor, stack.workdir('d'))]);
    const after = afterLastCheckout(runs).filter((r) => r.taskQueue?.startsWith('cd4ml-location-local'));
    expect(after.map((r) => r.name)).toEqual(['checkout', 'dvcPull', 'dvcRepro', 'stageCandidate', 'dvcPush', 'tagRelease']);
    expect(new Set(after.map((r) => r.identity))).toEqual(new Set([identityOf(survivor, stack.workdir('d'))]));
    expect(after.slice(1).every((r) => r.taskQueue !== 'cd4ml-location-local')).toBe(true);

    // The release is the survivor's model, from its own checkout.
    const released = await sha256(path.join(stack.releaseDir('v1.1'), 'model.onnx'));
    expect(released).toBe(await sha256(path.join(stack.workdir('d'), 'penguins', 'model', 'model.onnx')));
    await survivor.stop();
  });
});
