import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { ReleaseManifest, type TrainingResult } from '@cd4ml/contracts';
import { Stack } from '../harness/stack.ts';
import { Moto } from '../harness/moto.ts';
import { SimulatedFleet } from '../harness/ec2-fleet.ts';
import { activityRuns, runsOf, waitUntil } from '../harness/training-probes.ts';

/**
 * A spot training whose instance EC2 reclaims mid-repro (its metadata service, one fake per
 * simulated instance, gives the notice) resumes on a second instance from the run-cache and
 * the checkpoint, and is released once. moto for EC2, a real Temporal dev server, dvc and git.
 */
describe('spot interruption: resume on a replacement (moto, IMDS fake per instance)', () => {
  let stack: Stack;
  let moto: Moto;
  let fleet: SimulatedFleet;

  beforeAll(async () => {
    moto = await Moto.start();
    Object.assign(process.env, moto.env());
    await moto.createLaunchTemplate();
    stack = await Stack.start();
    await stack.example.create();
    const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/,
      `locations:\n  gpu: {provider: ec2, region: us-east-1, endpoint: "${moto.endpoint}", launchTemplate: cd4ml-gpu, ` +
      'instanceTypes: [g5.xlarge, g4dn.xlarge], spot: true, hourlyPrice: 0.5, workerStartTimeout: 120s}\n' +
      // No interruption allowed on spot: the first replacement is on-demand.
      `  once: {provider: ec2, region: us-east-1, endpoint: "${moto.endpoint}", launchTemplate: cd4ml-gpu, ` +
      'instanceTypes: [g5.xlarge], spot: {maxInterruptions: 0}, workerStartTimeout: 120s}\n');
    expect(config).toMatch(/checkpoint: checkpoints\/train/);
    await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: a spot location');
    // Slow enough to be interrupted between folds: each waits 3 s, and checkpoints when it ends.
    await stack.example.setParams({ 'train.fold_seconds': 3 }, 'params: a slow training');
    fleet = new SimulatedFleet(stack, moto.endpoint).withImds().start();
    await stack.startControlWorker();
  }, 240_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
    await moto?.stop();
  });

  const instancesOf = async (tag: string) => (await fleet.instances()).filter((i) => i.workflowId === `train/penguins/${tag}`);
  const checkpointOf = (instanceId: string, location = 'gpu') =>
    path.join(stack.workdir(`${location}-${instanceId}`), 'penguins', 'checkpoints', 'train', 'state.json');

  it('interrupted after the first stage, it resumes on a second instance, skips the finished stage, and is released once with two attempts', async () => {
    const handle = await stack.startTraining({ releaseTag: 's1', location: 'gpu' });
    // The notice comes once train has checkpointed a fold: prepare has finished by then.
    const first = await waitUntil('a checkpointed fold on the first instance', async () => {
      const [inst] = await instancesOf('s1');
      return inst && existsSync(checkpointOf(inst.instanceId)) && inst;
    }, 300_000);
    fleet.imds.get(first.instanceId)!.interrupt();

    const result: TrainingResult = await handle.result();
    expect(result.decision).toBe('accepted');

    const instances = await instancesOf('s1');
    expect(instances.map((i) => i.state)).toEqual(['terminated', 'terminated']);
    const second = instances.find((i) => i.instanceId !== first.instanceId)!;
    // The reclaimed g5 pool is left for the next type.
    expect(instances.map((i) => i.type)).toEqual(['g5.xlarge', 'g4dn.xlarge']);
    expect(await fleet.running()).toEqual([]);

    expect(result.attempts?.map((a) => [a.instanceId, a.instanceType, a.ended])).toEqual([
      [first.instanceId, 'g5.xlarge', 'spot-interrupted'], [second.instanceId, 'g4dn.xlarge', 'accepted'],
    ]);
    const total = result.attempts!.reduce((s, a) => s + a.seconds, 0);
    expect(result.machineSeconds).toBeCloseTo(total, 6);
    expect(result.estimatedCost).toBeCloseTo((total / 3600) * 0.5, 6);
    expect(result.notes?.join('\n')).toMatch(new RegExp(`EC2 reclaimed spot instance ${first.instanceId} .*finished stages: prepare; checkpoint saved`));

    // dvc on the replacement: prepare came from the run-cache, train and evaluate ran; the checkpoint was put back.
    const history = await handle.fetchHistory();
    const repros = completedResults(history, 'dvcRepro') as { ran: string[]; skipped: string[] }[];
    expect(repros).toEqual([{ ran: ['train', 'evaluate'], skipped: ['prepare'] }]);
    const pulls = completedResults(history, 'dvcPull') as { checkpointRestored?: boolean }[];
    expect(pulls.at(-1)?.checkpointRestored).toBe(true);
    expect(runsOf(await activityRuns(handle), 'dvcRepro').map((r) => r.outcome)).toEqual(['failed', 'completed']);

    expect((await stack.example.tags()).filter((t) => t === 's1')).toHaveLength(1);
    const manifest = ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir('s1'), 'release.json'), 'utf8')));
    expect(manifest.attempts?.map((a) => [a.instanceId, a.instanceType, a.ended])).toEqual([
      [first.instanceId, 'g5.xlarge', 'spot-interrupted'], [second.instanceId, 'g4dn.xlarge', 'accepted'],
    ]);
    expect(manifest.machine.seconds).toBeCloseTo(manifest.attempts!.reduce((s, a) => s + a.seconds, 0), 6);
  }, 900_000);

  it('beyond spot.maxInterruptions the replacement is on-demand', async () => {
    const handle = await stack.startTraining({ releaseTag: 's3', location: 'once' });
    const first = await waitUntil('a checkpointed fold on the first instance', async () => {
      const [inst] = await instancesOf('s3');
      return inst && existsSync(checkpointOf(inst.instanceId, 'once')) && inst;
    }, 300_000);
    fleet.imds.get(first.instanceId)!.interrupt();
    const result: TrainingResult = await handle.result();
    expect(result.decision).toBe('accepted');
    // Read from moto: the second instance was launched without spot market options.
    expect((await instancesOf('s3')).map((i) => [i.type, i.lifecycle ?? 'on-demand', i.state])).toEqual([
      ['g5.xlarge', 'spot', 'terminated'], ['g5.xlarge', 'on-demand', 'terminated'],
    ]);
    expect(result.attempts?.map((a) => [a.market, a.ended])).toEqual([['spot', 'spot-interrupted'], ['on-demand', 'accepted']]);
    // No hourlyPrice on this location: no cost estimate, on any attempt.
    expect(result.estimatedCost).toBeNull();
  }, 900_000);

  it('a notice as the instance comes up (during checkout, dvc pull or the start of repro) resumes too: nothing was finished, the replacement does it all', async () => {
    const handle = await stack.startTraining({ releaseTag: 's4', location: 'gpu' });
    // As soon as the first instance's metadata service is up (its worker starts right after).
    const first = await waitUntil('the first instance\'s metadata service', async () => {
      const [inst] = await instancesOf('s4');
      return inst && fleet.imds.has(inst.instanceId) && inst;
    }, 300_000);
    fleet.imds.get(first.instanceId)!.interrupt();
    const result: TrainingResult = await handle.result();
    expect(result.decision).toBe('accepted');
    expect(result.attempts?.map((a) => [a.instanceId === first.instanceId, a.ended])).toEqual([[true, 'spot-interrupted'], [false, 'accepted']]);
    expect(result.notes?.join('\n')).toMatch(/finished stages: none; no checkpoint/);
    expect((await instancesOf('s4')).map((i) => i.state)).toEqual(['terminated', 'terminated']);
    // Whichever early step the notice met failed on the first instance; repro and what follows completed once, on the second.
    const runs = await activityRuns(handle);
    // (watchMachine may also end failed: its cancel can arrive after it saw cd4ml terminate the reclaimed instance.)
    expect(runs.filter((r) => r.outcome === 'failed' && r.name !== 'watchMachine').map((r) => r.name)).toHaveLength(1);
    for (const step of ['dvcRepro', 'stageCandidate', 'tagRelease', 'publishRelease']) {
      expect(runsOf(runs, step).filter((r) => r.outcome === 'completed'), step).toHaveLength(1);
    }
  }, 900_000);

  it('a false alarm (the metadata service silent for a while, the instance still running) starts no resume', async () => {
    await stack.example.setParams({ 'train.fold_seconds': 2 }, 'params: another slow training');
    const handle = await stack.startTraining({ releaseTag: 's2', location: 'gpu' });
    const only = await waitUntil('a checkpointed fold', async () => {
      const [inst] = await instancesOf('s2');
      return inst && existsSync(checkpointOf(inst.instanceId)) && inst;
    }, 300_000);
    const imds = fleet.imds.get(only.instanceId)!;
    imds.silent = true;
    const before = imds.requests.length;
    await waitUntil('the spot watch to keep polling the silent service', async () => imds.requests.length >= before + 3, 60_000);
    await sleep(1000);
    imds.silent = false;

    const result = await handle.result();
    expect(result.decision).toBe('accepted');
    expect(result.attempts).toBeUndefined();
    expect((await instancesOf('s2')).map((i) => i.state)).toEqual(['terminated']);
    expect(runsOf(await activityRuns(handle), 'startMachine')).toHaveLength(1);
    expect(runsOf(await activityRuns(handle), 'dvcRepro').map((r) => r.outcome)).toEqual(['completed']);
  }, 900_000);
});

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** The results of an activity's completed runs, decoded from the history. */
function completedResults(history: History, name: string): unknown[] {
  const names = new Map<string, string>();
  const out: unknown[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) names.set(String(e.eventId), s.activityType?.name ?? '');
    const c = e.activityTaskCompletedEventAttributes;
    if (c && names.get(String(c.scheduledEventId)) === name) out.push(defaultPayloadConverter.fromPayload(c.result!.payloads![0]!));
  }
  return out;
}
