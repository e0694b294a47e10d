/**
 * Spot resume: from EC2's interruption notice to `dvc repro` running again on the
 * replacement, and the work lost, for the example training with a checkpoint per
 * cross-validation fold (train.fold_seconds each), against rerunning it from scratch
 * (what a reclaimed training cost before: the interrupted part, then a whole training).
 * moto EC2, a real Temporal dev server, dvc and git; one fake metadata service per instance.
 * Goals (issue 12): lost work at most one checkpoint interval; cd4ml's own part of the
 * recovery (not the instance's boot) under 10 s.
 *
 *   pnpm exec tsx bench/spot-resume.ts [--fold-seconds 4]
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { TrainingResult } from '@cd4ml/contracts';
import { Stack } from '../test/harness/stack.ts';
import { Moto } from '../test/harness/moto.ts';
import { SimulatedFleet } from '../test/harness/ec2-fleet.ts';
import { activityRunsOf, runsOf, waitUntil } from '../test/harness/training-probes.ts';

const { values } = parseArgs({ options: { 'fold-seconds': { type: 'string', default: '4' } } });
const foldSeconds = Number(values['fold-seconds']);
if (!(foldSeconds > 0)) {
  console.error(`--fold-seconds must be a positive number, got ${values['fold-seconds']}`);
  process.exit(2);
}
const f = (x: number, w = 8) => x.toFixed(1).padStart(w);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const moto = await Moto.start();
  Object.assign(process.env, moto.env());
  const stack = await Stack.start();
  let fleet: SimulatedFleet | undefined;
  try {
    await moto.createLaunchTemplate();
    await stack.example.create();
    const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/,
      `locations:\n  gpu: {provider: ec2, region: us-east-1, endpoint: "${moto.endpoint}", launchTemplate: cd4ml-gpu, instanceTypes: [g5.xlarge, g4dn.xlarge], spot: true}\n`);
    await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: a spot location');
    await stack.example.setParams({ 'train.fold_seconds': foldSeconds }, 'params: a slow training');
    fleet = new SimulatedFleet(stack, moto.endpoint).withImds().start();
    await stack.startControlWorker();
    console.log(`spot resume vs rerun from scratch: examples/penguins, 5 folds x ${foldSeconds} s, a checkpoint per fold, moto EC2`);
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`);

    // An uninterrupted training: what a rerun from scratch costs on top of the interrupted part.
    const t0 = Date.now();
    const base = await stack.train({ releaseTag: 'base', location: 'gpu' });
    if (base.decision !== 'accepted') throw new Error(`the uninterrupted training was ${base.decision}`);
    const whole = (Date.now() - t0) / 1000;
    await stack.example.setParams({ 'train.seed': 43 }, 'params: new seed, so nothing comes from the run-cache of base');

    const t1 = Date.now();
    const handle = await stack.startTraining({ releaseTag: 'spot', location: 'gpu' });
    const ckpt = (id: string) => path.join(stack.workdir(`gpu-${id}`), 'penguins', 'checkpoints', 'train', 'state.json');
    const first = await waitUntil('a checkpointed fold', async () => {
      const inst = (await fleet!.instances()).find((i) => i.workflowId === handle.workflowId);
      return inst && (await stat(ckpt(inst.instanceId)).catch(() => undefined)) && inst;
    }, 600_000);
    // Mid-fold: the worst case loses up to one interval.
    await sleep((foldSeconds * 1000) / 2);
    const lastCheckpoint = (await stat(ckpt(first.instanceId))).mtimeMs;
    const noticeAt = Date.now();
    fleet.imds.get(first.instanceId)!.interrupt();
    const result: TrainingResult = await handle.result();
    if (result.decision !== 'accepted') throw new Error(`the resumed training was ${result.decision}`);
    const total = (Date.now() - t1) / 1000;

    const runs = activityRunsOf(await handle.fetchHistory(), { times: true });
    const [repro1, repro2] = runsOf(runs, 'dvcRepro');
    const start2 = runsOf(runs, 'startMachine')[1]!;
    const boot = (start2.closedAt! - start2.startedAt!) / 1000;
    const recovery = (repro2!.startedAt! - noticeAt) / 1000;
    const lostResume = (noticeAt - lastCheckpoint) / 1000;
    const lostScratch = (noticeAt - repro1!.startedAt!) / 1000;
    const scratchTotal = (noticeAt - t1) / 1000 + whole;

    console.log('                                   resume   from scratch   ratio');
    console.log(`work lost (s)                    ${f(lostResume)} ${f(lostScratch, 14)} ${f(lostResume / lostScratch, 7)}`);
    console.log(`notice -> training total (s)     ${f(total - (noticeAt - t1) / 1000)} ${f(whole, 14)} ${f((total - (noticeAt - t1) / 1000) / whole, 7)}`);
    console.log(`training wall time (s)           ${f(total)} ${f(scratchTotal, 14)} ${f(total / scratchTotal, 7)}`);
    console.log(`notice -> dvc repro again: ${recovery.toFixed(1)} s, of which the replacement's start (launch, boot, worker) ${boot.toFixed(1)} s, cd4ml's own part ${(recovery - boot).toFixed(1)} s (goal < 10 s: ${recovery - boot < 10 ? 'met' : 'NOT met'})`);
    console.log(`lost work ${lostResume.toFixed(1)} s vs checkpoint interval ${foldSeconds} s + a fold's fit (goal: at most one interval: ${lostResume <= foldSeconds + 1 ? 'met' : 'NOT met'})`);
    console.log(`attempts: ${result.attempts?.map((a) => `${a.instanceType} ${a.market} ${a.ended} ${a.seconds.toFixed(1)} s`).join(', ')}`);
  } finally {
    await fleet?.stop();
    await stack.stop();
    await moto.stop();
  }
}

await main();
