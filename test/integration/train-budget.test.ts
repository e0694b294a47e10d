import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '@cd4ml/contracts';
import type { Stack } from '../harness/stack.ts';
import { launchedLocationStack } from '../harness/sweep-stack.ts';
import type { SimulatedFleet } from '../harness/ec2-fleet.ts';
import { activityRuns, slowTrainStage } from '../harness/training-probes.ts';

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** `cd4ml train --budget`: a single training on a launched moto instance (gpu, $0.526/h), real Temporal, dvc and git. */
describe('train --budget (moto, real Temporal, dvc, git)', () => {
  let stack: Stack;
  let fleet: SimulatedFleet;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ stack, fleet, stop } = await launchedLocationStack());
    await stack.startControlWorker();
  }, 180_000);

  afterAll(async () => stop?.());

  it('a training whose machine cost passes its budget is stopped as BudgetExceeded and its instance terminated', async () => {
    // A train stage that waits 120 s; $0.0037 buys about 25 s of the instance.
    await slowTrainStage(stack.example, 120);
    const handle = await stack.startTraining({ releaseTag: 'b1', location: 'gpu', budget: 0.0037 });
    const failure = await failureOf(handle);
    expect(failure.type).toBe(FailureType.BudgetExceeded);
    expect(failure.message).toMatch(/^the training's machine cost passed its budget of \$0\.0037 \(\d+ s on location "gpu" at \$0\.526\/h, about \$0\.\d{4}\) and was stopped; raise --budget if it needs more$/);
    const seconds = Number(/\((\d+) s on/.exec(failure.message)![1]);
    expect(seconds).toBeGreaterThanOrEqual(25);
    // Cancelled with cleanup: the repro was cancelled, the machine switched off, nothing tagged or released.
    const runs = await activityRuns(handle);
    expect(runs.find((r) => r.name === 'dvcRepro')?.outcome).toBe('canceled');
    expect(runs.filter((r) => r.name === 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
    const instances = (await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/b1');
    expect(instances.map((i) => i.state)).toEqual(['terminated']);
    expect(await fleet.running()).toEqual([]);
    expect(stack.released('b1')).toBe(false);
    expect(await stack.example.tags()).toEqual([]);
  }, 600_000);

  it('a budget on a location without a price is refused before anything starts, naming the setting', async () => {
    const failure = await failureOf(await stack.startTraining({ releaseTag: 'b2', location: 'local', budget: 1 }));
    expect(failure.type).toBe(FailureType.ConfigInvalid);
    expect(failure.message).toBe('--budget 1 needs a location with a price: "local" is a local location, which has none; train on an ec2 location with hourlyPrice');
    expect(await fleet.instances()).toHaveLength(1);
  }, 300_000);
});
