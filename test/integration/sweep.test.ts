import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { CONTROL_TASK_QUEUE, ReleaseManifest, sweepWorkflowId, type SweepRequestInput, type SweepResult } from '@cd4ml/contracts';
import type { Stack } from '../harness/stack.ts';
import type { Moto } from '../harness/moto.ts';
import { launchedLocationStack } from '../harness/sweep-stack.ts';
import { type SimulatedFleet, type InstanceEvent } from '../harness/ec2-fleet.ts';
import { VENV } from '../harness/paths.ts';

/** The most instances pending or running at once, from moto's instance list as the fleet saw it over time. */
function mostAtOnce(events: InstanceEvent[]): number {
  const live = new Set<string>();
  let most = 0;
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if (e.state === 'pending' || e.state === 'running') live.add(e.instanceId);
    else live.delete(e.instanceId);
    most = Math.max(most, live.size);
  }
  return most;
}

const dvc = path.join(VENV, 'bin', 'dvc');

/** Sweeps: child trainings on launched moto instances, real Temporal, dvc and git. */
describe('sweeps (moto, real Temporal, dvc, git)', () => {
  let stack: Stack;
  let moto: Moto;
  let fleet: SimulatedFleet;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ stack, moto, fleet, stop } = await launchedLocationStack());
    await stack.startControlWorker();
  }, 180_000);

  afterAll(async () => stop?.());

  const startSweep = (req: Partial<SweepRequestInput> & { releaseTag: string }) => {
    const request: SweepRequestInput = { project: 'penguins', repoUrl: stack.example.repoUrl, requestedBy: 'test', location: 'gpu', ...req };
    return stack.client.workflow.start('sweep', {
      taskQueue: CONTROL_TASK_QUEUE, workflowId: sweepWorkflowId('penguins', req.releaseTag), args: [request],
    });
  };

  it('a 6-setting grid, 3 at a time on launched instances: all gated, the best released with its params in the tag, the rest discarded', async () => {
    const handle = await startSweep({
      releaseTag: 'v2.0', parallel: 3,
      grid: { 'train.model': ['logistic_regression', 'decision_tree'], 'train.C': [0.001, 1, 100] },
    });
    const result: SweepResult = await handle.result();

    // At most 3 machines at once, and there were 3 at once (the lease did not serialise the trials).
    expect(mostAtOnce(fleet.events)).toBe(3);
    const instances = (await fleet.instances()).filter((i) => i.workflowId?.startsWith('sweep/penguins/v2.0/trial-'));
    expect(instances).toHaveLength(6);
    expect(instances.map((i) => i.state)).toEqual(Array(6).fill('terminated'));
    expect(await fleet.running()).toEqual([]);

    // Every trial gated: a metric cd4ml measured, and a decision.
    expect(result.trials).toHaveLength(6);
    for (const t of result.trials) {
      expect(typeof t.metric).toBe('number');
      expect(['released', 'discarded', 'rejected']).toContain(t.state);
      expect(t.cost).toBeGreaterThan(0);
      expect(t.machine).toBe('g4dn.xlarge');
    }
    const released = result.trials.filter((t) => t.state === 'released');
    expect(released).toHaveLength(1);
    const best = released[0]!;
    expect(result.best).toBe(best.n);
    const contenders = result.trials.filter((t) => t.state === 'discarded');
    for (const t of contenders) expect(best.metric!).toBeGreaterThanOrEqual(t.metric!);
    expect(result.state).toBe('released');
    expect(result.summary).toMatch(/^released v2\.0: trial \d/);

    // The release in the store carries the best trial's parameters and the gate's metric.
    const manifest = ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir('v2.0'), 'release.json'), 'utf8')));
    const train = manifest.params.train as Record<string, unknown>;
    expect(train.model).toBe(best.setting['train.model']);
    expect(train.C).toBe(best.setting['train.C']);
    expect(manifest.metrics.accuracy).toBe(best.metric);

    // The tag holds the best's params.yaml and its dvc.lock: a clone at the tag is up to date after dvc pull.
    const clone = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-sweep-clone-'));
    await execa('git', ['clone', '--quiet', '--branch', 'v2.0', stack.example.repoUrl, clone]);
    const params = parse(await readFile(path.join(clone, 'params.yaml'), 'utf8')) as { train: Record<string, unknown> };
    expect(params.train.model).toBe(best.setting['train.model']);
    expect(params.train.C).toBe(best.setting['train.C']);
    expect(await readFile(path.join(clone, 'params.yaml'), 'utf8')).toContain('# inverse regularisation strength');
    // git checkout v2.0 && dvc repro reproduces it: only the uncached metrics.json is made again, dvc.lock stays as tagged.
    const inVenv = { cwd: clone, env: { PATH: `${path.join(VENV, 'bin')}:${process.env.PATH}` } };
    await execa(dvc, ['pull', '--quiet'], inVenv);
    await execa(dvc, ['repro', '--quiet'], inVenv);
    expect(JSON.parse((await execa(dvc, ['status', '--json'], { cwd: clone })).stdout)).toEqual({});
    expect((await execa('git', ['status', '--porcelain', '--', 'dvc.lock', 'params.yaml'], { cwd: clone })).stdout).toBe('');
    const reproduced = JSON.parse(await readFile(path.join(clone, 'metrics.json'), 'utf8')) as Record<string, number>;
    expect(reproduced.accuracy).toBe(manifest.reportedMetrics?.accuracy);
    expect(await stack.example.tags()).toEqual(['v2.0']);
    // Trial refs are gone from the remote; discarded candidates are gone from the store.
    expect((await execa('git', ['for-each-ref', 'refs/cd4ml'], { cwd: stack.example.repoUrl })).stdout).toBe('');
    const candidates = path.join(stack.store, 'penguins', '.candidates');
    expect(existsSync(candidates) ? await readdir(candidates) : []).toEqual([]);

    // The status table is there after the sweep ended.
    const table = await handle.query<SweepResult>('sweepStatus');
    expect(table.trials.map((t) => t.state)).toEqual(result.trials.map((t) => t.state));
  }, 900_000);

  it('a trial whose stage fails does not fail the sweep; when every other trial is rejected nothing is released, saying why', async () => {
    // probability_scale 2 exports a broken model (rows no longer sum to 1): the gate rejects it.
    const handle = await startSweep({
      releaseTag: 'v3.0', parallel: 2, grid: { 'train.model': ['logistic_regression', 'bogus'], 'export.probability_scale': [2] },
    });
    const result: SweepResult = await handle.result();
    expect(result.trials.map((t) => t.state)).toEqual(['rejected', 'failed']);
    expect(result.trials[0]!.reason).toMatch(/probabilities-sum-to-one/);
    expect(result.trials[1]!.reason).toMatch(/train\.model: expected logistic_regression or decision_tree, got 'bogus'/);
    expect(result.state).toBe('nothing-released');
    expect(result.release).toBeUndefined();
    expect(result.summary).toBe(`nothing released: no trial passed the gate; 2 trials, 1 rejected, 1 failed, spent $${result.spent!.toFixed(2)}`);
    expect(stack.released('v3.0')).toBe(false);
    expect(await stack.example.tags()).toEqual(['v2.0']);
    expect(await fleet.running()).toEqual([]);
    const candidates = path.join(stack.store, 'penguins', '.candidates');
    expect(existsSync(candidates) ? await readdir(candidates) : []).toEqual([]);
  }, 600_000);

  it('cancelling the sweep cancels every running trial and switches their machines off', async () => {
    const handle = await startSweep({ releaseTag: 'v4.0', parallel: 2, grid: { 'train.C': [0.5, 2, 4] } });
    const mine = async () => (await fleet.instances()).filter((i) => i.workflowId?.startsWith('sweep/penguins/v4.0/'));
    while ((await mine()).filter((i) => i.state === 'running').length < 2) await new Promise((r) => setTimeout(r, 250));
    await handle.cancel();
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    for (const n of [1, 2]) {
      const { status } = await stack.client.workflow.getHandle(`sweep/penguins/v4.0/trial-${n}`).describe();
      expect(status.name).toBe('CANCELLED');
    }
    // The third never started: no workflow, no machine.
    await expect(stack.client.workflow.getHandle('sweep/penguins/v4.0/trial-3').describe()).rejects.toThrow(/not found/i);
    const instances = await mine();
    expect(instances).toHaveLength(2);
    expect(instances.map((i) => i.state)).toEqual(['terminated', 'terminated']);
  }, 600_000);

  it('a budget below one trial\'s expected cost starts no trial and says so', async () => {
    // An hour at the location's $0.526 is the expected cost of a trial before any has ended.
    const result: SweepResult = await (await startSweep({ releaseTag: 'v5.0', budget: 0.5, trialEstimate: '1h', grid: { 'train.C': [1, 2] } })).result();
    expect(result.trials.map((t) => t.state)).toEqual(['skipped', 'skipped']);
    expect(result.trials[0]!.reason).toBe('budget $0.50: spent $0.00, running $0.00, this trial\'s expected $0.53 would pass it');
    expect(result.summary).toBe('nothing released: the budget allowed no trial; 2 trials, 2 skipped');
    expect((await fleet.instances()).filter((i) => i.workflowId?.startsWith('sweep/penguins/v5.0/'))).toEqual([]);
  }, 300_000);
});
