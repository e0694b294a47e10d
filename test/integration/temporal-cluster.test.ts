import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { LeaseQuery, ReleaseManifest, locationWorkflowId, type LeaseState, type TrainingResult } from '@cd4ml/contracts';
import { execa } from 'execa';
import { Stack } from '../harness/stack.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { activityRuns, runsOf, slowTrainStage, waitForDvcStage, waitUntil } from '../harness/training-probes.ts';

/** A short outage: every worker's polls and heartbeats fail, and the step goes on. */
const SHORT_OUTAGE_MS = 8_000;
/**
 * Longer than dvcRepro's heartbeat timeout (20 s) and than the rest of the train stage: the
 * step ends while the server cannot hear it, so its attempt times out and runs again.
 */
const LONG_OUTAGE_MS = 30_000;

/**
 * The production topology: the Temporal server (go.temporal.io/server) on PostgreSQL, the
 * control and location workers as OS processes. The server and the database crash
 * (SIGKILL) mid-training and come back; every training still ends once.
 */
describe('on a Temporal cluster (Temporal server on PostgreSQL, workers as processes)', () => {
  let stack: Stack;
  let controls: WorkerProcess[];
  let location: WorkerProcess;

  beforeAll(async () => {
    stack = await Stack.start({ temporal: 'cluster' });
    await stack.example.create();
    [controls, location] = await Promise.all([
      Promise.all([stack.spawnWorker('control'), stack.spawnWorker('control')]),
      stack.spawnWorker('location'),
    ]);
  });
  afterAll(async () => stack?.stop());

  const latest = async () => JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8')) as { tag: string };
  const manifest = async (tag: string) =>
    ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir(tag), 'release.json'), 'utf8')));
  const leaseHolder = async () =>
    (await stack.client.workflow.getHandle(locationWorkflowId('local')).query<LeaseState>(LeaseQuery.state)).holder;
  const workersAlive = () => {
    for (const w of [...controls, location]) expect(w.running, `${w.name} worker (pid ${w.pid}) died:\n${w.log.slice(-3000)}`).toBe(true);
  };

  /** One tag, one release, published once, the machine stopped once, the location free again. */
  async function expectOnce(handle: WorkflowHandle, result: TrainingResult, tag: string): Promise<void> {
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    const runs = await activityRuns(handle);
    expect(runsOf(runs, 'dvcRepro').map((r) => r.outcome)).toEqual(['completed']);
    expect(runsOf(runs, 'tagRelease').map((r) => r.outcome)).toEqual(['completed']);
    expect(runsOf(runs, 'publishRelease').map((r) => r.outcome)).toEqual(['completed']);
    expect(runsOf(runs, 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
    expect((await stack.example.tags()).filter((t) => t === tag)).toEqual([tag]);
    expect((await manifest(tag)).git.commit).toBe(result.commit);
    expect(await latest()).toEqual({ tag });
    expect(await leaseHolder()).toBeNull();
  }

  /**
   * A slow training, stopped in the middle of `dvc repro` by `crash`, then awaited.
   * `follow`: `cd4ml train` attaches to it first and must follow it through the crash.
   */
  async function trainThrough(tag: string, crash: () => Promise<void>, follow = false): Promise<string | undefined> {
    await slowTrainStage(stack.example, 12);
    const handle = await stack.startTraining({ releaseTag: tag });
    await waitForDvcStage(handle, 'train');
    const cli = follow ? followInCli(tag) : undefined;
    if (cli) await waitUntil('cd4ml train to attach', async () => cli.output().includes(`attached to train/penguins/${tag}`), 60_000, async () => cli.output());
    await crash();
    const result = (await handle.result()) as TrainingResult;
    workersAlive();
    await expectOnce(handle, result, tag);
    if (!cli) return undefined;
    const run = await cli.run;
    expect(run.exitCode, run.all).toBe(0);
    return run.all;
  }

  /** `cd4ml train` on a running training: attaches and follows it (plain output, as in CI). */
  function followInCli(tag: string) {
    const run = execa(process.execPath, [
      '--import', 'tsx', 'client/src/cli.ts', 'train', '--repo', stack.example.repoUrl, '--project', 'penguins', '--tag', tag,
    ], { cwd: REPO_ROOT, env: { TEMPORAL_ADDRESS: stack.temporal.address }, reject: false, all: true, timeout: 300_000 });
    let text = '';
    run.all?.on('data', (d: Buffer) => (text += d.toString()));
    return { run, output: () => text };
  }

  it('runs the pipeline: the first model is released, a retraining on new data is gated against it', async () => {
    const first = await stack.train({ releaseTag: 'c1.0' });
    expect(first.decision, first.reasons.join('\n')).toBe('accepted');
    expect(first.baseline).toBeNull();
    expect(await latest()).toEqual({ tag: 'c1.0' });

    await stack.example.appendDay();
    const second = await stack.train({ releaseTag: 'c1.1' });
    expect(second.decision, second.reasons.join('\n')).toBe('accepted');
    expect(second.baseline?.tag).toBe('c1.0');
    expect((await manifest('c1.1')).baseline?.tag).toBe('c1.0');
    expect(await latest()).toEqual({ tag: 'c1.1' });
    expect(await stack.example.tags()).toEqual(['c1.0', 'c1.1']);
    // The trainings are found by cd4ml's search attributes, on SQL visibility (written a moment after the run).
    const query = 'Cd4mlProject = "penguins" AND Cd4mlDecision = "accepted" AND Cd4mlLocation = "local" AND Cd4mlMetric > 0.5';
    const found = await waitUntil('both trainings in visibility', async () => {
      const { executions } = await stack.client.workflowService.listWorkflowExecutions({ namespace: 'default', query });
      return executions?.length === 2 && executions.map((e) => e.execution?.workflowId).sort();
    }, 10_000);
    expect(found).toEqual(['train/penguins/c1.0', 'train/penguins/c1.1']);
  });

  /** Down for `ms`, then back on the same ports and data; the workers stay up all along. */
  const outage = (down: () => Promise<void>, up: () => Promise<void>, ms: number) => async () => {
    await down();
    await sleep(ms);
    workersAlive();
    await up();
  };

  it('the Temporal server killed mid-repro, back after 8 s: the training finishes once; cd4ml train waits it out', async () => {
    const cli = await trainThrough('server-crash', outage(() => stack.cluster.killServer(), () => stack.cluster.startServer(), SHORT_OUTAGE_MS), true);
    expect(cli).toContain(`waiting for Temporal at ${stack.temporal.address}`);
    expect(cli).toMatch(new RegExp(`Temporal at ${stack.temporal.address.replace(/\./g, '\\.')} answers again after \\d+ s`));
    expect(cli).toMatch(/^ACCEPTED: server-crash/m);
  });

  it('PostgreSQL killed mid-repro, back after 30 s (past the step\'s heartbeat timeout): the training finishes once', () =>
    trainThrough('postgres-crash', outage(() => stack.cluster.killPostgres(), () => stack.cluster.startPostgres(), LONG_OUTAGE_MS)));

  it('one of two control workers killed mid-training: the other takes over, the training finishes once', async () => {
    await trainThrough('control-crash', async () => {
      // The one whose cache holds the training (its sticky queue): the other must rebuild it from history.
      const handle = stack.client.workflow.getHandle('train/penguins/control-crash');
      const history = await handle.fetchHistory();
      const started = (history.events ?? []).filter((e) => e.workflowTaskStartedEventAttributes);
      const identity = started.at(-1)?.workflowTaskStartedEventAttributes?.identity ?? '';
      const victim = controls.find((w) => identity.startsWith(`${w.pid}@`));
      expect(victim, `no control worker has the identity ${identity}`).toBeDefined();
      await victim!.kill();
      controls = controls.filter((w) => w !== victim);
    });
    // The location is free: the next training on it runs (no code change: dvc's cache makes it quick).
    const next = await stack.train({ releaseTag: 'after-crashes' });
    expect(next.decision, next.reasons.join('\n')).toBe('accepted');
    expect(await latest()).toEqual({ tag: 'after-crashes' });
  });
});
