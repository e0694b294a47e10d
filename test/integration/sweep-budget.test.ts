import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_TASK_QUEUE, sweepWorkflowId, type SweepRequestInput, type SweepResult } from '@cd4ml/contracts';
import type { Stack } from '../harness/stack.ts';
import { launchedLocationStack } from '../harness/sweep-stack.ts';
import type { SimulatedFleet } from '../harness/ec2-fleet.ts';
import { slowTrainStage } from '../harness/training-probes.ts';

/** A sweep's budget on launched moto instances (location gpu at $0.526/h), real Temporal, dvc and git. */
describe('sweep budget (moto, real Temporal, dvc, git)', () => {
  let stack: Stack;
  let fleet: SimulatedFleet;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ stack, fleet, stop } = await launchedLocationStack());
    await stack.startControlWorker();
  }, 180_000);

  afterAll(async () => stop?.());

  const runSweep = async (req: Partial<SweepRequestInput> & { releaseTag: string }): Promise<SweepResult> => {
    const request: SweepRequestInput = { project: 'penguins', repoUrl: stack.example.repoUrl, requestedBy: 'test', location: 'gpu', ...req };
    const handle = await stack.client.workflow.start('sweep', {
      taskQueue: CONTROL_TASK_QUEUE, workflowId: sweepWorkflowId('penguins', req.releaseTag), args: [request],
    });
    return handle.result();
  };
  const instancesOf = async (tag: string) => (await fleet.instances()).filter((i) => i.workflowId?.startsWith(`sweep/penguins/${tag}/`));

  it('a budget that allows 4 of 6 trials: 4 run, 2 are reported skipped with the sums', async () => {
    // 10 minutes at $0.526/h is $0.0877 a trial before any has ended: 4 fit in $0.40, a 5th would not.
    const result = await runSweep({ releaseTag: 'v6.0', parallel: 6, budget: 0.4, trialEstimate: '10m', grid: { 'train.C': [0.5, 1, 2, 4, 8, 16] } });
    expect(result.trials.map((t) => t.state).slice(4)).toEqual(['skipped', 'skipped']);
    for (const t of result.trials.slice(0, 4)) {
      expect(['released', 'discarded', 'rejected']).toContain(t.state);
      expect(t.cost).toBeGreaterThan(0);
    }
    expect(result.trials[4]!.reason).toBe('budget $0.40: spent $0.00, running $0.35, this trial\'s expected $0.09 would pass it');
    expect(result.spent).toBeCloseTo(result.trials.slice(0, 4).reduce((sum, t) => sum + t.cost!, 0), 10);
    expect(result.summary).toMatch(/^released v6\.0: trial [1-4] .*; 6 trials, 1 released, .*2 skipped, spent \$0\.\d+ of \$0\.40$/);
    // Only the 4 that ran had machines, all terminated.
    const instances = await instancesOf('v6.0');
    expect(instances.map((i) => i.workflowId!).sort()).toEqual([1, 2, 3, 4].map((n) => `sweep/penguins/v6.0/trial-${n}`));
    expect(instances.map((i) => i.state)).toEqual(Array(4).fill('terminated'));
  }, 900_000);

  it('a budget passed while a trial runs stops it (cancelled, its instance terminated); the next is skipped', async () => {
    // A train stage that waits 120 s; the budget lasts about 25 s of one instance at $0.526/h.
    await slowTrainStage(stack.example, 120);
    const result = await runSweep({ releaseTag: 'v7.0', parallel: 1, budget: 0.0037, trialEstimate: '1s', grid: { 'train.C': [0.5, 1] } });
    expect(result.trials.map((t) => t.state)).toEqual(['stopped', 'skipped']);
    expect(result.trials[0]!.reason).toMatch(/^budget \$0\.0037 passed: \$0\.0037 spent with this trial running$/);
    expect(result.trials[1]!.reason).toBe(`${result.trials[0]!.reason}: no more trials start`);
    // Counted to the end of its cleanup, so past the budget, but not by much more than the stop took.
    expect(result.trials[0]!.cost).toBeGreaterThan(0.0037);
    expect(result.spent).toBe(result.trials[0]!.cost);
    expect(result.state).toBe('nothing-released');
    expect(result.summary).toMatch(/^nothing released: the budget ran out before a trial was accepted; 2 trials, 1 stopped, 1 skipped, spent \$0\.\d{4} of \$0\.0037$/);
    const { status } = await stack.client.workflow.getHandle('sweep/penguins/v7.0/trial-1').describe();
    expect(status.name).toBe('CANCELLED');
    const instances = await instancesOf('v7.0');
    expect(instances).toHaveLength(1);
    expect(instances[0]!.state).toBe('terminated');
    expect(await fleet.running()).toEqual([]);
    expect(stack.released('v7.0')).toBe(false);
  }, 600_000);
});
