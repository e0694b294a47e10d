import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { Stack } from '../harness/stack.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { activityRuns, runsOf, progressOf, slowTrainStage, waitForDvcStage, waitUntil } from '../harness/training-probes.ts';
import { expectReleasedOnce, storeEntries } from '../harness/peer-checks.ts';

/** Crash, cancel and queueing behaviour, with workers as real OS processes. */
describe('durability (workers as processes, real Temporal, dvc, git)', () => {
  let stack: Stack;
  let control: WorkerProcess;
  let location: WorkerProcess;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    [control, location] = await Promise.all([stack.spawnWorker('control'), stack.spawnWorker('location')]);
  });
  afterAll(async () => stack?.stop());
  const peers = () => ({ store: stack.store, project: 'penguins', repo: stack.example.repoUrl });


  it('queues a second training for a busy location: it waits, visibly, then runs', async () => {
    await slowTrainStage(stack.example, 10);
    const first = await stack.startTraining({ releaseTag: 'q1' });
    await waitForDvcStage(first, 'train');
    const second = await stack.startTraining({ releaseTag: 'q2' });
    const waiting = await waitUntil('q2 waiting', async () => {
      const p = await progressOf(second);
      return p.stage === 'lease' && p;
    });
    expect(waiting.waitingFor).toContain('location local');
    const status = await execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'status', 'train/penguins/q2'], {
      cwd: REPO_ROOT, env: { TEMPORAL_ADDRESS: stack.env.address },
    });
    expect(status.stdout).toMatch(/waiting for location local \(held by train\/penguins\/q1\)/);

    const [r1, r2] = await Promise.all([first.result(), second.result()]);
    expect([r1.decision, r2.decision]).toEqual(['accepted', 'accepted']);
    // One at a time: the second started its machine only after the first gave the location back.
    const p1 = await progressOf(first);
    const p2 = await progressOf(second);
    const firstEnd = p1.stages.find((s) => s.stage === 'done')!.startedAt;
    const secondStart = p2.stages.find((s) => s.stage === 'start-machine')!.startedAt;
    expect(secondStart).toBeGreaterThanOrEqual(firstEnd);
  });

  it('cancelling mid-repro kills the dvc process tree and still stops the machine', async () => {
    await slowTrainStage(stack.example, 60);
    const handle = await stack.startTraining({ releaseTag: 'cancelled' });
    await waitForDvcStage(handle, 'train');
    const pidFile = path.join(stack.workdir('local'), 'penguins', '.dvc', 'tmp', 'cd4ml-repro.pid');
    const pgid = Number(await readFile(pidFile, 'utf8'));
    expect(processGroupAlive(pgid)).toBe(true);

    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    await waitUntil('repro process group gone', async () => !processGroupAlive(pgid), 15_000);
    expect(runsOf(await activityRuns(handle), 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
    expect(stack.released('cancelled')).toBe(false);
  });

  it('a training terminated mid-repro (no cleanup runs) loses its processes and its location', async () => {
    await slowTrainStage(stack.example, 60);
    const handle = await stack.startTraining({ releaseTag: 'terminated' });
    await waitForDvcStage(handle, 'train');
    const pgid = Number(await readFile(path.join(stack.workdir('local'), 'penguins', '.dvc', 'tmp', 'cd4ml-repro.pid'), 'utf8'));
    await handle.terminate('test: terminated by hand');
    // The next heartbeat finds the run gone; the worker cancels the step and kills its processes.
    await waitUntil('repro process group gone', async () => !processGroupAlive(pgid), 30_000);
    // The lease notices its holder ended and grants the location to the next run.
    await slowTrainStage(stack.example, 0);
    const next = await stack.train({ releaseTag: 'after-terminate' });
    expect(next.decision).toBe('accepted');
    expect(stack.released('terminated')).toBe(false);
  });

  it('a location worker killed mid-repro is replaced and the training completes once', async () => {
    await slowTrainStage(stack.example, 8);
    const handle = await stack.startTraining({ releaseTag: 'crash-location' });
    await waitForDvcStage(handle, 'train');
    await location.kill();
    location = await stack.spawnWorker('location');
    const result = await handle.result();
    expect(result.decision).toBe('accepted');
    const runs = await activityRuns(handle);
    expect(runsOf(runs, 'dvcRepro').map((r) => [r.outcome, (r.attempt ?? 0) >= 2])).toEqual([['completed', true]]);
    expect(runsOf(runs, 'publishRelease')).toHaveLength(1);
    expect((await stack.example.tags()).filter((t) => t === 'crash-location')).toHaveLength(1);
    expect(stack.released('crash-location')).toBe(true);
    await expectReleasedOnce(peers(), 'crash-location', result);
  });

  it('a control worker killed mid-repro is replaced and the training completes once', async () => {
    await slowTrainStage(stack.example, 10);
    const handle = await stack.startTraining({ releaseTag: 'crash-control' });
    await waitForDvcStage(handle, 'train');
    await control.kill();
    control = await stack.spawnWorker('control');
    const result = await handle.result();
    expect(result.decision).toBe('accepted');
    const runs = await activityRuns(handle);
    expect(runsOf(runs, 'tagRelease')).toHaveLength(1);
    expect(runsOf(runs, 'publishRelease')).toHaveLength(1);
    expect((await stack.example.tags()).filter((t) => t === 'crash-control')).toHaveLength(1);
    expect(stack.released('crash-control')).toBe(true);
    // At the peers: the store holds exactly this release once, and the remote's tag is at its commit.
    await expectReleasedOnce(peers(), 'crash-control', result);
    // Every release folder in the store is a tag on the remote; the newest is this one.
    const tags = await stack.example.tags();
    const releases = (await storeEntries(stack.store, 'penguins')).filter((e) => e !== 'latest.json' && e !== '.candidates');
    expect(releases.filter((r) => !tags.includes(r))).toEqual([]);
    expect(JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8'))).toEqual({ tag: 'crash-control' });
  });
});

function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
