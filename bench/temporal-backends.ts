/**
 * Temporal backends: the same trainings on the Temporal CLI's dev server
 * (SQLite) and on the production stack, the Temporal server on PostgreSQL
 * (test/harness/temporal-cluster.ts), side by side in one run.
 *
 *   pnpm exec tsx bench/temporal-backends.ts [--rounds 10] [--queued 50] [--queue-on cluster,dev]
 *
 * Part 1, trainings: each round commits the next day of the example's data,
 * then both stacks train that commit. Per side: end-to-end seconds per
 * training (the client's start call to its result) and orchestration overhead
 * (from the workflow's history: its run time on the server clock minus the
 * time its activities ran), median and p90, and the ratio cluster/dev.
 *
 * Part 2, a queue: --queued trainings started at once on one location, with a
 * trivial pipeline: the commit both checkouts have just trained, so dvc pull
 * and repro find everything up to date; the gate still runs, and each one is
 * released (dvc push, tag, publish). They really queue on the location's
 * lease (workflow location/local) and run one at a time. For each, by its
 * place in the line: the wait, its own run (grant to close), the orchestration
 * in its run, and the hand-off from the previous training's release to its
 * grant. Whether that per-training cost grows with the length of the queue is
 * the question; the slope says it in ms per place.
 *
 * Fairness: one example repository (git and DVC remote) serves both stacks,
 * so both train the same commits on the same data; each stack has its own
 * workers (the same code, in this process), persistent checkout, release
 * store and so baseline. The bench's gate takes any model not worse by 1 (see
 * exampleForBench), so every training takes the whole path to a release. The
 * order alternates per round so neither side always finds the other's pushes
 * on the DVC remote. Only one side trains at a time; both servers run
 * throughout. One-time costs (server starts, worker starts and bundling, each
 * side's first cold training) are printed but excluded.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { locationWorkflowId, type TrainingResult } from '@cd4ml/contracts';
import type { ExampleRepo } from '@cd4ml/client/demo/example-repo';
import { Stack } from '../test/harness/stack.ts';
import {
  breakdown, fmt as f, median, orchestrationSeconds, percentile, secondsSince, timed, type HistoryBreakdown,
} from './workflow-history.ts';

const SIDES = ['dev', 'cluster'] as const;
type SideName = (typeof SIDES)[number];
/** Days 1-6 are the example's initial data; every round needs one more. */
const INITIAL_DAYS = 6;
const LOCATION = 'local';
const BUCKET = 10;

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    queued: { type: 'string', default: '50' },
    'queue-on': { type: 'string', default: 'cluster,dev' },
  },
});
const positive = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${v}`);
    process.exit(2);
  }
  return n;
};
const rounds = positive('rounds', values.rounds, 1);
const queued = positive('queued', values.queued, 0);
const queueOn = (values['queue-on'] ?? '').split(',').filter(Boolean) as SideName[];
if (queueOn.some((s) => !SIDES.includes(s))) {
  console.error(`--queue-on takes ${SIDES.join(', ')} (comma-separated), got ${values['queue-on']}`);
  process.exit(2);
}

interface Training {
  seconds: number;
  result: TrainingResult;
  history: HistoryBreakdown;
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`.padStart(7);
const loads: number[] = [];
const noteLoad = () => loads.push(os.loadavg()[0]!);
const sdkWarnings = new Map<string, number>();

async function train(stack: Stack, repoUrl: string, commit: string, releaseTag: string): Promise<Training> {
  const t0 = performance.now();
  const handle = await stack.startTraining({ releaseTag, commit, repoUrl, requestedBy: 'bench', reason: 'temporal-backends bench' });
  const result = await handle.result();
  const seconds = secondsSince(t0);
  return { seconds, result, history: await breakdown(stack.client, handle.workflowId) };
}

/** Part 1: the same commits on both sides, one new day per round. */
async function trainings(stacks: Record<SideName, Stack>, initial: string): Promise<void> {
  const example = stacks.dev.example;
  const cold: string[] = [];
  for (const side of SIDES) {
    const t = await train(stacks[side], example.repoUrl, initial, `${side}-0`);
    if (t.result.decision !== 'accepted') throw new Error(`${side}: the cold training was ${t.result.decision}: ${t.result.reasons.join('; ')}`);
    cold.push(`${side} ${t.seconds.toFixed(1)} s (orchestration ${orchestrationSeconds(t.history).toFixed(2)} s)`);
  }
  console.log(`first (cold) training, excluded: ${cold.join(', ')}`);
  console.log();

  const runs: Record<SideName, Training[]> = { dev: [], cluster: [] };
  let firstRejection: string | undefined;
  console.log('                      ------ end-to-end s ------   ---- orchestration s ----');
  console.log('round  first    decision (dev/cluster)   dev  cluster   ratio     dev  cluster   ratio');
  for (let round = 1; round <= rounds; round++) {
    const commit = await example.appendDay();
    if (!commit) throw new Error(`round ${round}: the example has no new day left`);
    const order: SideName[] = round % 2 ? ['dev', 'cluster'] : ['cluster', 'dev'];
    const got = {} as Record<SideName, Training>;
    for (const side of order) got[side] = await train(stacks[side], example.repoUrl, commit, `${side}-${round}`);
    for (const side of SIDES) runs[side].push(got[side]);
    if (got.dev.result.decision !== 'accepted' && !firstRejection) firstRejection = `round ${round}: ${got.dev.result.reasons.join('; ')}`;
    noteLoad();
    const [d, c] = [got.dev, got.cluster];
    const [od, oc] = [orchestrationSeconds(d.history), orchestrationSeconds(c.history)];
    console.log(
      `${String(round).padStart(5)}  ${order[0]!.padEnd(7)}  ${`${d.result.decision}/${c.result.decision}`.padEnd(20)}` +
        ` ${f(d.seconds, 6)} ${f(c.seconds, 8)} ${ratio(c.seconds, d.seconds)}  ${f(od, 6)} ${f(oc, 8)} ${ratio(oc, od)}`,
    );
  }

  const stat = (pick: (t: Training) => number, p?: number) => (side: SideName) => {
    const xs = runs[side].map(pick);
    return p === undefined ? median(xs) : percentile(xs, p);
  };
  const rows: [string, (side: SideName) => number][] = [
    ['end-to-end, median', stat((t) => t.seconds)],
    ['end-to-end, p90', stat((t) => t.seconds, 90)],
    ['orchestration overhead, median', stat((t) => orchestrationSeconds(t.history))],
    ['orchestration overhead, p90', stat((t) => orchestrationSeconds(t.history), 90)],
    ['  activity tasks waiting in queues, median', stat((t) => t.history.queueWait)],
    ['  the rest (workflow tasks, lease, signals), median', stat((t) => orchestrationSeconds(t.history) - t.history.queueWait)],
    ['activities running, median', stat((t) => t.history.activityRun)],
    ['  of which dvc repro, median', stat((t) => t.history.run['dvcRepro'] ?? 0)],
    ['client: start call + result, median', stat((t) => t.seconds - (t.history.closedAt - t.history.startedAt) / 1000)],
  ];
  console.log();
  console.log(`seconds per training over ${rounds} round(s)                     dev   cluster  cluster/dev`);
  for (const [name, of] of rows) console.log(`  ${name.padEnd(52)}${f(of('dev'))}  ${f(of('cluster'))}  ${ratio(of('cluster'), of('dev'))}`);
  const per = (side: SideName) => `${median(runs[side].map((t) => t.history.activities))} activities, ${median(runs[side].map((t) => t.history.workflowTasks))} workflow tasks`;
  const retries = SIDES.map((s) => runs[s].reduce((n, t) => n + t.history.retries, 0));
  if (firstRejection) console.log(`  (a rejected training skips dvc push, tag and publish; the first rejection, ${firstRejection})`);
  console.log(`  (median per training: dev ${per('dev')}; cluster ${per('cluster')}; retries dev ${retries[0]}, cluster ${retries[1]})`);
}

interface Place {
  position: number;
  tag: string;
  decision: string;
  /** Start to grant: in the location's line. */
  wait: number;
  /** Grant to close. */
  run: number;
  /** Of the run: no activity running. */
  orchestration: number;
  /** The previous training's release signal (for the first: its own lease request) to this grant. */
  handoff: number;
  /** This grant since the previous one. */
  cycle?: number;
  retries: number;
  /** The 1-minute load average at the grant. */
  load: number;
}

/** Least squares, y per x. */
function slope(xs: number[], ys: number[]): number {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i]! - my);
    den += (x - mx) ** 2;
  });
  return den ? num / den : 0;
}

/** Part 2: `queued` trainings at once on one location, all the same (trivial) work. */
async function queue(side: SideName, stack: Stack, repoUrl: string, commit: string): Promise<{ perTraining: number; cost: number }> {
  // The machine's load while the line runs down: activity times follow it, orchestration should not.
  const loadSamples: [number, number][] = [];
  const sampler = setInterval(() => loadSamples.push([Date.now(), os.loadavg()[0]!]), 1000);
  const loadAt = (ms: number) => loadSamples.reduce((best, s) => (Math.abs(s[0] - ms) < Math.abs(best[0] - ms) ? s : best), [0, NaN])[1];
  const t0 = performance.now();
  const handles = await Promise.all(Array.from({ length: queued }, (_, i) =>
    stack.startTraining({ releaseTag: `queue-${side}-${i + 1}`, commit, repoUrl, requestedBy: 'bench', reason: 'queue bench' })));
  const started = secondsSince(t0);
  const results = await Promise.all(handles.map((h) => h.result() as Promise<TrainingResult>));
  const wall = secondsSince(t0);
  clearInterval(sampler);
  noteLoad();
  const histories = await Promise.all(handles.map((h) => breakdown(stack.client, h.workflowId)));
  const lease = await stack.client.workflow.getHandle(locationWorkflowId(LOCATION)).describe();

  const order = histories.map((h, i) => ({ h, i })).sort((a, b) => a.h.grantedAt! - b.h.grantedAt!);
  const places: Place[] = order.map(({ h, i }, k) => {
    const prev = order[k - 1]?.h;
    const run = (h.closedAt - h.grantedAt!) / 1000;
    return {
      position: k + 1, tag: results[i]!.releaseTag, decision: results[i]!.decision,
      wait: (h.grantedAt! - h.startedAt) / 1000,
      run,
      orchestration: run - h.activityRunAfterGrant,
      handoff: (h.grantedAt! - (prev ? prev.releasedAt! : h.leaseRequestedAt!)) / 1000,
      cycle: prev ? (h.grantedAt! - prev.grantedAt!) / 1000 : undefined,
      retries: h.retries,
      load: loadAt(h.grantedAt!),
    };
  });
  const cost = (p: Place) => p.orchestration + p.handoff;

  console.log();
  console.log(`queue on ${side}: ${queued} trainings started at once (${started.toFixed(2)} s for the start calls) on location ${LOCATION}, ` +
    `all on ${commit.slice(0, 8)} (pipeline up to date)`);
  console.log('medians, seconds   wait in line   own run   activities   orchestration   hand-off   orch.+hand-off   grant to grant   load');
  for (let from = 0; from < places.length; from += BUCKET) {
    const b = places.slice(from, from + BUCKET);
    const m = (pick: (p: Place) => number | undefined) => {
      const xs = b.map(pick).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    console.log(
      `  ${`${from + 1}-${from + b.length}`.padEnd(14)} ${f(m((p) => p.wait), 12)} ${f(m((p) => p.run), 9)} ${f(m((p) => p.run - p.orchestration), 12)}` +
        ` ${f(m((p) => p.orchestration), 15)} ${f(m((p) => p.handoff), 10)} ${f(m(cost), 16)} ${f(m((p) => p.cycle), 16)} ${f(m((p) => p.load), 6, 1)}`,
    );
  }
  const xs = places.map((p) => p.position);
  const cycles = places.filter((p) => p.cycle !== undefined);
  const decisions = [...new Set(places.map((p) => p.decision))].map((d) => `${places.filter((p) => p.decision === d).length} ${d}`).join(', ');
  const retries = places.reduce((n, p) => n + p.retries, 0);
  console.log(
    `  wall ${wall.toFixed(1)} s, ${(wall / queued).toFixed(2)} s per queued training; slope per place in the line: ` +
      `orchestration + hand-off ${(slope(xs, places.map(cost)) * 1000).toFixed(1)} ms, ` +
      `grant to grant ${(slope(cycles.map((p) => p.position), cycles.map((p) => p.cycle!)) * 1000).toFixed(1)} ms`,
  );
  console.log(`  ${decisions}; activity retries ${retries}; the lease workflow's history: ${lease.historyLength} events`);
  const names = [...new Set(histories.flatMap((h) => Object.keys(h.run)))];
  const byName = names.map((n) => [n, median(histories.map((h) => h.run[n] ?? 0))] as const).sort((a, b) => b[1] - a[1]);
  console.log(`  the trivial work, median s: ${byName.slice(0, 6).map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ')}`);
  return { perTraining: wall / queued, cost: median(places.map(cost)) };
}

/**
 * The example, with a gate that takes any model within 1 of the release's accuracy: cut
 * into more, smaller days (16 for 10 rounds), the not-worse gate with its margin of 0.02
 * rejected rounds 3-10, and a rejected training skips dvc push, tag and publish. Every
 * round should run the whole path.
 */
async function exampleForBench(example: ExampleRepo): Promise<string> {
  await example.create();
  const config = await readFile(path.join(example.workDir, 'cd4ml.yaml'), 'utf8');
  if (!/^  margin: 0\.02$/m.test(config)) throw new Error('the example\'s cd4ml.yaml has no `margin: 0.02` to widen');
  return example.writeFile('cd4ml.yaml', config.replace(/^  margin: 0\.02$/m, '  margin: 1'), 'gate: margin 1 (the bench releases every round)');
}

async function main(): Promise<void> {
  // Before anything touches the Temporal runtime: keep the tables readable, count the SDK's
  // warnings (a slow workflow task under load, say) and say them at the end.
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      if (entry.level !== 'WARN') return console.error(`${entry.level} ${entry.message}`);
      // The location worker runs activities only: this one is by design.
      if (entry.message.startsWith('No workflows registered')) return;
      const what = entry.message.replace(/[0-9a-f]{8}-[0-9a-f-]{27}\S*/g, '<run>');
      sdkWarnings.set(what, (sdkWarnings.get(what) ?? 0) + 1);
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  noteLoad();
  const oneTime: string[] = [];
  const stacks = {} as Record<SideName, Stack>;
  try {
    for (const side of SIDES) {
      // The dev side's example is the one both train; cut into enough days for every round.
      const [stack, s] = await timed(() => Stack.start({ temporal: side, example: { days: INITIAL_DAYS + rounds } }));
      stacks[side] = stack;
      oneTime.push(`${side} server ${s.toFixed(1)} s`);
    }
    const [initial, exampleS] = await timed(() => exampleForBench(stacks.dev.example));
    oneTime.push(`example repo ${exampleS.toFixed(1)} s`);
    for (const side of SIDES) {
      oneTime.push(`${side} workers${side === 'dev' ? ' (and the workflow bundle)' : ''} ${(await timed(async () => {
        await stacks[side].startControlWorker();
        await stacks[side].startLocationWorker(LOCATION);
      }))[1].toFixed(1)} s`);
    }
    console.log(`Temporal backends: dev server (SQLite) vs Temporal server on PostgreSQL; ${rounds} round(s) on examples/penguins, ` +
      `queue of ${queued} on ${queueOn.join(' and ') || 'neither'}`);
    console.log(`one-time, excluded: ${oneTime.join(', ')}`);
    await trainings(stacks, initial);

    const head = await stacks.dev.example.head();
    const q: Partial<Record<SideName, { perTraining: number; cost: number }>> = {};
    // Each side's checkout is at HEAD already: the queued trainings' pipeline is up to date.
    if (queued) for (const side of queueOn) q[side] = await queue(side, stacks[side], stacks.dev.example.repoUrl, head);
    if (q.dev && q.cluster) {
      console.log();
      console.log(`queue, cluster/dev: wall per queued training ${ratio(q.cluster.perTraining, q.dev.perTraining).trim()}, ` +
        `orchestration + hand-off per training (median) ${ratio(q.cluster.cost, q.dev.cost).trim()}`);
    }
    const maxLoad = Math.max(...loads);
    console.log();
    console.log(`load average (1 min) ${Math.min(...loads).toFixed(1)} to ${maxLoad.toFixed(1)} on ${os.availableParallelism()} CPUs` +
      (maxLoad > os.availableParallelism() ? ' (busy machine: end-to-end times are noisy)' : ''));
    for (const [what, n] of sdkWarnings) console.log(`Temporal SDK warning x${n}: ${what.slice(0, 160)}`);
  } finally {
    for (const side of [...SIDES].reverse()) await stacks[side]?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
