import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../harness/stack.ts';
import { Moto } from '../harness/moto.ts';
import { SimulatedFleet } from '../harness/ec2-fleet.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { activityRuns, progressOf, runsOf } from '../harness/training-probes.ts';
import { expectReleasedOnce, storeEntries } from '../harness/peer-checks.ts';

/** A small seeded generator, so a failing sequence of kill points can be replayed (CD4ML_KILL_SEED). */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * SIGKILL the control worker at random points of EC2 trainings, then start a
 * new one: every training still ends accepted, its instance is switched off,
 * exactly one instance was launched for it, and its tag and release are made once.
 */
describe('EC2 trainings survive control-worker crashes (moto, workers as processes)', () => {
  let stack: Stack;
  let moto: Moto;
  let fleet: SimulatedFleet;
  let control: WorkerProcess;

  beforeAll(async () => {
    moto = await Moto.start();
    Object.assign(process.env, moto.env());
    await moto.createLaunchTemplate();

    stack = await Stack.start();
    await stack.example.create();
    const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/,
      `locations:\n  gpu: {provider: ec2, region: us-east-1, endpoint: "${moto.endpoint}", launchTemplate: cd4ml-gpu, hourlyPrice: 0.5}\n`);
    await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: an ec2 location');
    fleet = new SimulatedFleet(stack, moto.endpoint).start();
    control = await stack.spawnWorker('control', 'local', moto.env());
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
    await moto?.stop();
  });

  it('every run ends, every instance is switched off, no tag or release twice', async () => {
    // One undisturbed run first: how long a training takes here sets the range of kill points.
    const t0 = Date.now();
    expect((await stack.train({ releaseTag: 'k0', location: 'gpu' })).decision).toBe('accepted');
    const span = Date.now() - t0;

    const seed = Number(process.env.CD4ML_KILL_SEED ?? Date.now() % 100_000);
    const random = mulberry32(seed);
    const runs = 4;
    for (let i = 1; i <= runs; i++) {
      const tag = `k${i}`;
      const handle = await stack.startTraining({ releaseTag: tag, location: 'gpu' });
      const killAfter = Math.round(random() * span);
      await sleep(killAfter);
      const stage = await progressOf(handle).then((p) => p.stage, () => 'unknown');
      await control.kill();
      console.log(`seed ${seed} run ${tag}: killed the control worker ${killAfter} ms in, at stage ${stage}`);
      control = await stack.spawnWorker('control', 'local', moto.env());

      const result = await handle.result();
      expect(result.decision, `run ${tag} (seed ${seed}, killed at ${stage})`).toBe('accepted');
      const history = await activityRuns(handle);
      for (const once of ['tagRelease', 'publishRelease']) {
        expect(runsOf(history, once).filter((r) => r.outcome === 'completed'), `${once} in ${tag}`).toHaveLength(1);
      }
      const mine = (await fleet.instances()).filter((x) => x.workflowId === `train/penguins/${tag}`);
      expect(mine.map((x) => x.state), `instances of ${tag} (seed ${seed}, killed at ${stage})`).toEqual(['terminated']);
      expect(stack.released(tag)).toBe(true);
      // At the peers: the store's files of this release, once; the remote's tag at its commit.
      await expectReleasedOnce({ store: stack.store, project: 'penguins', repo: stack.example.repoUrl }, tag, result);
    }
    expect(await fleet.running()).toEqual([]);
    const tags = await stack.example.tags();
    for (let i = 0; i <= runs; i++) expect(tags.filter((t) => t === `k${i}`)).toHaveLength(1);
    const all = Array.from({ length: runs + 1 }, (_, i) => `k${i}`);
    expect((await storeEntries(stack.store, 'penguins')).filter((e) => e !== 'latest.json' && e !== '.candidates')).toEqual(all);
    // Every instance moto ever saw, tagged or not, terminated ones included: one per training, none running.
    const ec2 = new EC2Client(moto.clientConfig());
    try {
      const seen = [];
      for await (const page of paginateDescribeInstances({ client: ec2 }, {})) seen.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []));
      expect(seen.map((i) => i.Tags?.find((t) => t.Key === 'cd4ml:workflow-id' || t.Key === 'cd4ml:last-workflow-id')?.Value ?? '(untagged)').sort())
        .toEqual(all.map((t) => `train/penguins/${t}`));
      expect(new Set(seen.map((i) => i.State?.Name))).toEqual(new Set(['terminated']));
    } finally {
      ec2.destroy();
    }
  }, 900_000);
});
