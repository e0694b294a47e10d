/**
 * Stop latency: how soon the training machine is switched off once the
 * training's last step has ended, and how much of the machine's time was
 * training. The example trains on an EC2 location (moto over real HTTP),
 * through cd4ml and, side by side, the way the seeds' CI jobs do it by hand:
 * run-instances, wait, run the steps (bench/by-hand.sh), terminate-instances.
 * Goal: cd4ml's stop latency under 5 s.
 *
 *   pnpm exec tsx bench/stop-latency.ts [--rounds N]
 *
 * Times come from one clock: a pass-through proxy in front of moto stamps
 * each EC2 call as it arrives; step ends come from the workflow history
 * (cd4ml) or the script's own stamps (by hand).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand, waitUntilInstanceRunning } from '@aws-sdk/client-ec2';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Stack } from '../test/harness/stack.ts';
import { Moto } from '../test/harness/moto.ts';
import { Ec2Faults } from '../test/harness/ec2-faults.ts';
import { SimulatedFleet } from '../test/harness/ec2-fleet.ts';
import { activityRunsOf } from '../test/harness/training-probes.ts';
import { VENV } from '../test/harness/paths.ts';

const BY_HAND = fileURLToPath(new URL('./by-hand.sh', import.meta.url));
const GOAL_S = 5;

interface Sample {
  /** From the end of the last training step to the stop (terminate) call. */
  stopLatency: number;
  /** From the launch call to the stop call. */
  machine: number;
  /** From the first training step's start to the last one's end. */
  training: number;
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a positive integer, got ${values.rounds}`);
  process.exit(2);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number, w = 8, d = 2) => x.toFixed(d).padStart(w);

/** cd4ml: one training on the EC2 location; times from its history and the proxy's stamps. */
async function viaCd4ml(stack: Stack, faults: Ec2Faults, fleet: SimulatedFleet, tag: string): Promise<Sample> {
  const handle = await stack.startTraining({ releaseTag: tag, location: 'gpu', requestedBy: 'bench', reason: 'stop-latency bench' });
  const result = await handle.result();
  if (result.decision !== 'accepted') throw new Error(`training ${tag} was ${result.decision}: ${result.reasons.join('; ')}`);
  const runs = activityRunsOf(await handle.fetchHistory(), { times: true });
  const instance = (await fleet.instances()).find((i) => i.workflowId === handle.workflowId)!.instanceId;
  const stopAt = faults.calledAt('TerminateInstances', instance)!;
  const runAt = faults.calledAt('RunInstances')!;
  const stepsStart = runs.find((r) => r.name === 'checkout')!.startedAt!;
  const stop = runs.findIndex((r) => r.name === 'stopMachine');
  const lastStepEnd = Math.max(...runs.slice(0, stop).map((r) => r.closedAt ?? 0));
  return { stopLatency: (stopAt - lastStepEnd) / 1000, machine: (stopAt - runAt) / 1000, training: (lastStepEnd - stepsStart) / 1000 };
}

/** By hand, as in the seeds' CI job: launch, wait until running, run the steps, terminate. */
async function byHand(ec2: EC2Client, faults: Ec2Faults, clone: string, commit: string): Promise<Sample> {
  const runAt = Date.now();
  const out = await ec2.send(new RunInstancesCommand({ LaunchTemplate: { LaunchTemplateName: 'cd4ml-gpu' }, MinCount: 1, MaxCount: 1 }));
  const id = out.Instances![0]!.InstanceId!;
  await waitUntilInstanceRunning({ client: ec2, maxWaitTime: 600, minDelay: 1 }, { InstanceIds: [id] });
  const r = await execa('bash', [BY_HAND, clone, commit, VENV], { stdin: 'ignore', all: true, reject: false });
  if (r.exitCode !== 0) throw new Error(`by-hand.sh failed (exit ${r.exitCode}):\n${r.all}`);
  const stamps = [...r.stdout.matchAll(/^@@step \S+ (\S+) (\S+)$/gm)].map((m) => [Number(m[1]) * 1000, Number(m[2]) * 1000] as const);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  const stopAt = faults.calledAt('TerminateInstances', id)!;
  const lastStepEnd = stamps.at(-1)![1];
  return { stopLatency: (stopAt - lastStepEnd) / 1000, machine: (stopAt - runAt) / 1000, training: (lastStepEnd - stamps[0]![0]) / 1000 };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const moto = await Moto.start();
  Object.assign(process.env, moto.env());
  const faults = await Ec2Faults.start(moto.endpoint);
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: faults.endpoint });
  const stack = await Stack.start();
  let fleet: SimulatedFleet | undefined;
  try {
    await moto.createLaunchTemplate();
    await stack.example.create();
    const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/,
      `locations:\n  gpu: {provider: ec2, region: us-east-1, endpoint: "${faults.endpoint}", launchTemplate: cd4ml-gpu, hourlyPrice: 0.526}\n`);
    await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: an ec2 location');
    fleet = new SimulatedFleet(stack, moto.endpoint).start();
    await stack.startControlWorker();
    const clone = path.join(stack.dir, 'by-hand', 'penguins');
    await execa('git', ['clone', '--quiet', stack.example.repoUrl, clone]);

    console.log(`stop latency: cd4ml vs by hand (CI-job style), ${rounds} round(s), examples/penguins on moto EC2`);
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`);
    // Warm-up (cold checkouts and caches on both sides), not counted.
    const head = await stack.example.run('git', 'rev-parse', 'HEAD');
    await viaCd4ml(stack, faults, fleet, 'warm');
    await byHand(ec2, faults, clone, head.trim());

    const cd: Sample[] = [];
    const hand: Sample[] = [];
    console.log('round  side      training s  machine s  machine/training  stop latency s');
    for (let i = 1; i <= rounds; i++) {
      const commit = (await stack.example.appendDay()) ?? (await stack.example.setParams({ 'train.C': 1 + i / 10 }, `params: C ${1 + i / 10}`));
      const a = await viaCd4ml(stack, faults, fleet, `s${i}`);
      const b = await byHand(ec2, faults, clone, commit);
      cd.push(a);
      hand.push(b);
      for (const [side, s] of [['cd4ml', a], ['by hand', b]] as const) {
        console.log(`${String(i).padStart(5)}  ${side.padEnd(8)} ${f(s.training, 11)} ${f(s.machine, 10)} ${f(s.machine / s.training, 17)}x ${f(s.stopLatency, 14)}`);
      }
    }
    const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
    const ratio = (xs: Sample[]) => median(xs.map((x) => x.machine / x.training));
    console.log(`median stop latency: cd4ml ${m(cd, 'stopLatency').toFixed(2)} s, by hand ${m(hand, 'stopLatency').toFixed(2)} s (goal < ${GOAL_S} s: ${m(cd, 'stopLatency') < GOAL_S ? 'met' : 'NOT met'})`);
    console.log(`median machine/training: cd4ml ${ratio(cd).toFixed(2)}x, by hand ${ratio(hand).toFixed(2)}x`);
    console.log('(machine time also covers boot and, for cd4ml, the location worker coming up and the gate/publish steps before the stop)');
  } finally {
    await fleet?.stop();
    await stack.stop();
    await faults.stop();
    await moto.stop();
    ec2.destroy();
  }
}

await main();
