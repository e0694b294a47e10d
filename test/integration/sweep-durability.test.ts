import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_TASK_QUEUE, sweepWorkflowId, type SweepResult } from '@cd4ml/contracts';
import type { Stack } from '../harness/stack.ts';
import type { Moto } from '../harness/moto.ts';
import { launchedLocationStack } from '../harness/sweep-stack.ts';
import type { SimulatedFleet } from '../harness/ec2-fleet.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';

/** A sweep survives its control worker: SIGKILL mid-sweep, a new worker finishes it (moto, real Temporal, dvc, git). */
describe('sweep durability', () => {
  let stack: Stack;
  let moto: Moto;
  let fleet: SimulatedFleet;
  let stop: (() => Promise<void>) | undefined;
  let control: WorkerProcess;

  beforeAll(async () => {
    ({ stack, moto, fleet, stop } = await launchedLocationStack());
    control = await stack.spawnWorker('control', 'local', moto.env());
  }, 240_000);

  afterAll(async () => stop?.());

  it('SIGKILL of the control worker mid-sweep: a new one finishes it, one release, no trial run twice', async () => {
    const handle = await stack.client.workflow.start('sweep', {
      taskQueue: CONTROL_TASK_QUEUE, workflowId: sweepWorkflowId('penguins', 'v2.0'),
      args: [{ project: 'penguins', repoUrl: stack.example.repoUrl, releaseTag: 'v2.0', location: 'gpu', parallel: 2, grid: { 'train.C': [0.01, 1, 10, 100] } }],
    });
    while ((await fleet.instances()).filter((i) => i.state === 'running').length < 2) await new Promise((r) => setTimeout(r, 250));
    await control.kill();
    control = await stack.spawnWorker('control', 'local', moto.env());
    const result: SweepResult = await handle.result();

    expect(result.state).toBe('released');
    expect(result.trials.filter((t) => t.state === 'released')).toHaveLength(1);
    expect(await stack.example.tags()).toEqual(['v2.0']);
    expect(stack.released('v2.0')).toBe(true);
    // One run and one machine per trial.
    for (const t of result.trials) {
      const runs = [];
      for await (const w of stack.client.workflow.list({ query: `WorkflowId = '${t.workflowId}'` })) runs.push(w);
      expect(runs).toHaveLength(1);
    }
    const instances = await fleet.instances();
    expect(instances.map((i) => i.workflowId).sort()).toEqual(result.trials.map((t) => t.workflowId).sort());
    expect(instances.every((i) => i.state === 'terminated')).toBe(true);
  }, 900_000);
});
