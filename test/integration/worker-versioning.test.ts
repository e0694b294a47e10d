import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { locationWorkflowId } from '@cd4ml/contracts';
import { DEFAULT_DEPLOYMENT, createControlWorker } from '@cd4ml/workers';
import { Stack, workflowBundle, type RunningWorker } from '../harness/stack.ts';
import { slowTrainStage, waitForDvcStage, waitUntil, type History } from '../harness/training-probes.ts';

/**
 * A rollout of the control worker while a training runs (Worker Deployments, pinned):
 * the training that started on the old version finishes on it; the next one runs on
 * the new version; the location's lease moves to the new version by itself.
 */
describe('worker versioning: a new control worker rolled out mid-training (real dev server)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
  }, 120_000);
  afterAll(async () => stack?.stop());

  const current = async () => {
    const { workerDeploymentInfo } = await stack.client.workflowService.describeWorkerDeployment({ namespace: 'default', deploymentName: DEFAULT_DEPLOYMENT });
    return workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId ?? undefined;
  };
  const versioning = async (handle: WorkflowHandle) => (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  /** Open workflows pinned to a version, from visibility (how an operator checks before stopping one). */
  const runningOn = async (buildId: string) => Number((await stack.client.workflowService.countWorkflowExecutions({
    namespace: 'default', query: `TemporalWorkerDeploymentVersion = '${DEFAULT_DEPLOYMENT}:${buildId}' AND ExecutionStatus = 'Running'`,
  })).count);
  /** The build id of every worker that completed one of the run's workflow tasks. */
  const taskBuildIds = (history: History) => [...new Set((history.events ?? [])
    .filter((e) => e.workflowTaskCompletedEventAttributes)
    .map((e) => e.workflowTaskCompletedEventAttributes!.deploymentVersion?.buildId ?? '(unversioned)'))];

  it('finishes the running training on the old version and starts the next on the new one', async () => {
    await slowTrainStage(stack.example, 25);
    await stack.startLocationWorker();
    const old: RunningWorker = await stack.startControlWorker({ buildId: 'build-old' });
    await waitUntil('build-old current', async () => (await current()) === 'build-old');

    const first = await stack.startTraining({ releaseTag: 'v1.0' });
    await waitForDvcStage(first, 'train');
    // The rollout: a new version polls and becomes current while v1.0 is in dvc repro.
    await stack.startControlWorker({ buildId: 'build-new' });
    await waitUntil('build-new current', async () => (await current()) === 'build-new');
    const second = await stack.startTraining({ releaseTag: 'v1.1' });
    await waitUntil('v1.0 listed as running on build-old', async () => (await runningOn('build-old')) === 1);

    const [r1, r2] = await Promise.all([first.result(), second.result()]);
    expect(r1.decision).toBe('accepted');
    expect(['accepted', 'rejected']).toContain(r2.decision);

    expect(taskBuildIds(await first.fetchHistory())).toEqual(['build-old']);
    expect(await versioning(first)).toMatchObject({ behavior: 1, deploymentVersion: { buildId: 'build-old', deploymentName: DEFAULT_DEPLOYMENT } });
    expect(taskBuildIds(await second.fetchHistory())).toEqual(['build-new']);
    expect(await versioning(second)).toMatchObject({ behavior: 1, deploymentVersion: { buildId: 'build-new' } });

    // The lease started on the old version and moved on (AUTO_UPGRADE = 2).
    const lease = stack.client.workflow.getHandle(locationWorkflowId('local'));
    const leaseIds = taskBuildIds(await lease.fetchHistory());
    expect(leaseIds[0]).toBe('build-old');
    expect(leaseIds).toContain('build-new');
    expect((await versioning(lease))?.behavior).toBe(2);

    // Nothing pinned to the old version is still open: stopping it now loses nothing.
    await waitUntil('nothing running on build-old', async () => (await runningOn('build-old')) === 0);
    await old.stop();

    // The old build restarted (a crash loop, a host reboot) does not take the traffic back.
    const said: string[] = [];
    const restarted = await createControlWorker({
      temporal: stack.temporal, home: stack.home, store: stack.store, workflowBundle: await workflowBundle(),
      deployment: { buildId: 'build-old' }, log: (m) => said.push(m),
    });
    await restarted.worker.runUntil(waitUntil('the restarted build-old to stand down', async () => said.find((m) => m.includes('was replaced by build-new'))));
    await restarted.close();
    expect(await current()).toBe('build-new');
  }, 300_000);
});
