/**
 * Orchestration overhead: the example's training steps run by hand as a shell
 * script (bench/by-hand.sh: git checkout, dvc pull, dvc repro, dvc push) and
 * the same training through cd4ml (the trainModel workflow on a real Temporal
 * dev server), side by side on the same commits. Goal: under 2 s of overhead
 * per training.
 *
 *   pnpm exec tsx bench/orchestration-overhead.ts [--rounds N]
 *
 * Fairness: each round first makes one new commit (the next day of data, or
 * once the days run out a train.C change), then both sides train that commit,
 * each in its own warm persistent checkout against the same git and DVC
 * remotes. The order alternates per round so neither side always finds the
 * other's pushes on the remote. One-time costs (server start, worker start and
 * bundling, the first cold training of each side) are printed but excluded.
 */
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Stage, TrainingResult } from '@cd4ml/contracts';
import { Stack } from '../test/harness/stack.ts';
import { VENV } from '../test/harness/paths.ts';
import { breakdown, fmt as f, median, secondsSince, timed, type HistoryBreakdown } from './workflow-history.ts';

const BY_HAND = fileURLToPath(new URL('./by-hand.sh', import.meta.url));
const GOAL_S = 2;

interface Side {
  seconds: number;
  steps: Record<string, number>;
}

interface CdSide extends Side {
  result: TrainingResult;
  history: HistoryBreakdown;
}

interface Round {
  round: number;
  change: string;
  first: 'hand' | 'cd4ml';
  hand: Side;
  cd: CdSide;
}

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a positive integer, got ${values.rounds}`);
  process.exit(2);
}

/**
 * The overhead without dvc repro: repro is the same command on both sides and
 * by far the longest and noisiest step (seconds of run-to-run spread on a busy
 * machine), so it is taken out of both totals. cd4ml's repro activity's
 * scheduling latency stays in.
 */
const net = (r: Round) => (r.cd.seconds - (r.cd.history.run['dvcRepro'] ?? 0)) - (r.hand.seconds - (r.hand.steps['dvc-repro'] ?? 0));

/** The baseline: bench/by-hand.sh in its own persistent clone. */
async function byHand(clone: string, commit: string): Promise<Side> {
  const t0 = performance.now();
  const r = await execa('bash', [BY_HAND, clone, commit, VENV], { stdin: 'ignore', all: true, reject: false });
  const seconds = secondsSince(t0);
  if (r.exitCode !== 0) throw new Error(`by-hand.sh failed (exit ${r.exitCode}):\n${r.all}`);
  const steps: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^@@step (\S+) (\S+) (\S+)$/.exec(line);
    if (m) steps[m[1]!] = Number(m[3]) - Number(m[2]);
  }
  return { seconds, steps };
}

/** The same training through cd4ml: the trainModel workflow on the same commit. */
async function viaCd4ml(stack: Stack, commit: string, releaseTag: string): Promise<CdSide> {
  const t0 = performance.now();
  const handle = await stack.startTraining({ releaseTag, commit, requestedBy: 'bench', reason: 'orchestration-overhead bench' });
  const result = await handle.result();
  const seconds = secondsSince(t0);
  const steps = Object.fromEntries(Object.entries(result.durations).filter(([k]) => k !== 'done')) as Record<string, number>;
  return { seconds, steps, result, history: await breakdown(stack.client, handle.workflowId) };
}

async function main(): Promise<void> {
  // Before anything touches the Temporal runtime: keep the table readable.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const oneTime: [string, number][] = [];

  const [stack, serverS] = await timed(() => Stack.start());
  oneTime.push(['temporal dev server', serverS]);
  try {
    const [initial, exampleS] = await timed(() => stack.example.create());
    oneTime.push(['example repo', exampleS]);
    oneTime.push(['control worker + bundle', (await timed(() => stack.startControlWorker()))[1]]);
    oneTime.push(['location worker', (await timed(() => stack.startLocationWorker()))[1]]);
    const clone = path.join(stack.dir, 'by-hand', 'penguins');
    oneTime.push(['by-hand clone', (await timed(() => execa('git', ['clone', '--quiet', stack.example.repoUrl, clone])))[1]]);

    console.log(`orchestration overhead: by-hand script vs cd4ml, ${rounds} round(s) on examples/penguins`);
    // The first training of each side fills its empty checkout and DVC cache: a one-time cost too.
    const warmHand = await byHand(clone, initial);
    const warmCd = await viaCd4ml(stack, initial, 'bench-0');
    if (warmCd.result.decision !== 'accepted') throw new Error(`warm-up training was ${warmCd.result.decision}: ${warmCd.result.reasons.join('; ')}`);
    oneTime.push(['first (cold) training: by-hand', warmHand.seconds], ['first (cold) training: cd4ml', warmCd.seconds]);
    console.log(`one-time, excluded: ${oneTime.map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);
    console.log();

    const results: Round[] = [];
    let c = 1.0;
    const loads: number[] = [os.loadavg()[0]!];
    console.log('round  change       first  decision  by-hand s  cd4ml s  overhead s   ratio   repro hand/cd4ml  net s');
    for (let round = 1; round <= rounds; round++) {
      let change: string;
      let commit = await stack.example.appendDay();
      if (commit) {
        change = `+1 day`;
      } else {
        c = c === 1.0 ? 0.5 : 1.0;
        commit = await stack.example.setParams({ 'train.C': c }, `params: train.C ${c}`);
        change = `train.C=${c}`;
      }
      const first = round % 2 ? 'hand' : 'cd4ml';
      let hand: Side;
      let cd: CdSide;
      if (first === 'hand') {
        hand = await byHand(clone, commit);
        cd = await viaCd4ml(stack, commit, `bench-${round}`);
      } else {
        cd = await viaCd4ml(stack, commit, `bench-${round}`);
        hand = await byHand(clone, commit);
      }
      results.push({ round, change, first, hand, cd });
      console.log(
        `${String(round).padStart(5)}  ${change.padEnd(11)}  ${first.padEnd(5)}  ${cd.result.decision.padEnd(8)}` +
          `  ${f(hand.seconds, 9)}  ${f(cd.seconds, 7)}  ${f(cd.seconds - hand.seconds, 10)}  ${(cd.seconds / hand.seconds).toFixed(2).padStart(5)}x` +
          `  ${f(hand.steps['dvc-repro'], 8)}/${f(cd.history.run['dvcRepro'], 6)}  ${f(net(results.at(-1)!), 5)}`,
      );
      loads.push(os.loadavg()[0]!);
    }

    // Step by step: the by-hand script's steps beside cd4ml's stages (medians over the rounds).
    const med = (pick: (r: Round) => number | undefined) => {
      const xs = results.map(pick).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    const stages: Stage[] = ['resolve', 'lease', 'start-machine', 'checkout', 'dvc-pull', 'dvc-repro', 'stage-candidate', 'evaluate', 'dvc-push', 'tag', 'publish'];
    const rows: [string, number | undefined, number | undefined][] = stages.map((s) => [
      s, med((r) => r.hand.steps[s]), med((r) => r.cd.steps[s]),
    ]);
    rows.push([
      'finally + result (stop-machine, lease, completion)', undefined,
      med((r) => r.cd.seconds - Object.values(r.cd.steps).reduce((a, b) => a + b, 0)),
    ]);
    rows.push(['script/process startup + unaccounted', med((r) => r.hand.seconds - Object.values(r.hand.steps).reduce((a, b) => a + b, 0)), undefined]);
    console.log();
    console.log('median seconds per step                             by-hand    cd4ml');
    for (const [name, h, cd] of rows) console.log(`  ${name.padEnd(50)}${f(h)} ${f(cd)}`);
    const rejected = results.filter((r) => r.cd.result.decision !== 'accepted').length;
    if (rejected) console.log(`  (${rejected} round(s) rejected by the gate: cd4ml skipped dvc-push, tag and publish there)`);

    const hb = (k: 'activityRun' | 'queueWait' | 'activities' | 'workflowTasks' | 'retries') => med((r) => r.cd.history[k])!;
    console.log();
    console.log(
      `cd4ml from workflow history (median): activities running ${hb('activityRun').toFixed(2)} s, ` +
        `waiting in task queues ${hb('queueWait').toFixed(2)} s over ${hb('activities')} activities, ` +
        `everything else (workflow tasks x${hb('workflowTasks')}, lease signals, client) ` +
        `${(med((r) => r.cd.seconds - r.cd.history.activityRun - r.cd.history.queueWait)!).toFixed(2)} s` +
        (hb('retries') ? `, retries ${hb('retries')}` : ''),
    );
    const endToEnd = median(results.map((r) => r.cd.seconds - r.hand.seconds));
    const overhead = median(results.map(net));
    const maxLoad = Math.max(...loads);
    console.log(
      `end-to-end difference (cd4ml - by-hand): median ${endToEnd.toFixed(2)} s; ` +
        `load average up to ${maxLoad.toFixed(1)} on ${os.availableParallelism()} CPUs` +
        (maxLoad > os.availableParallelism() ? ' (busy machine: totals are noisy, trust the net figure)' : ''),
    );
    console.log(
      `overhead per training: median ${overhead.toFixed(2)} s net of dvc repro ` +
        `(goal < ${GOAL_S} s${overhead < GOAL_S ? ', met' : ', NOT met'})`,
    );
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
