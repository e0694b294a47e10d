/**
 * Sweep scaling: the wall time of a sweep of N trials at --parallel 1 (the serial
 * baseline: the same N trainings one after another) against 2, 4, ... at a time, on
 * launched moto EC2 instances, real Temporal, dvc and git. This machine has 2 cores,
 * so the train stage waits a fixed time first (as a GPU job leaves the CPU idle):
 * that wait is what parallel trials can overlap.
 *
 *   pnpm exec tsx bench/sweep-scaling.ts [--trials 4] [--parallel 1,2,4] [--wait 15]
 *
 * Per row: wall time, its ratio to the serial baseline next to the ideal one
 * (ceil(N/p)/N), the machine seconds of all trials (from their cost at the
 * location's price), and cd4ml's overhead per trial (machine seconds beyond the wait).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CONTROL_TASK_QUEUE, sweepWorkflowId, type SweepRequestInput, type SweepResult } from '@cd4ml/contracts';
import { launchedLocationStack } from '../test/harness/sweep-stack.ts';
import { slowTrainStage } from '../test/harness/training-probes.ts';

/** The bench location's price, as sweep-stack.ts sets it. */
const HOURLY_PRICE = 0.526;

const { values } = parseArgs({ options: { trials: { type: 'string', default: '4' }, parallel: { type: 'string', default: '1,2,4' }, wait: { type: 'string', default: '15' } } });
const trials = Number(values.trials);
const parallels = values.parallel.split(',').map(Number);
const wait = Number(values.wait);
if (!Number.isInteger(trials) || trials < 1) throw new Error(`--trials must be a positive integer, got ${values.trials}`);
if (parallels.some((p) => !Number.isInteger(p) || p < 1)) throw new Error(`--parallel must be positive integers separated by commas, got ${values.parallel}`);
if (!Number.isFinite(wait) || wait < 0) throw new Error(`--wait must be seconds >= 0, got ${values.wait}`);
if (parallels[0] !== 1) parallels.unshift(1);

interface Row { parallel: number; wall: number; machine: number; overheadPerTrial: number }

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const { stack, stop } = await launchedLocationStack();
  try {
    await stack.startControlWorker();
    await slowTrainStage(stack.example, wait);
    console.log(`sweep scaling: ${trials} trials of examples/penguins (train stage waits ${wait} s) on launched moto EC2 instances`);
    console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`);
    const rows: Row[] = [];
    for (const [i, parallel] of parallels.entries()) {
      // Settings no earlier sweep trained, so no stage is skipped from a cache.
      const grid = { 'train.C': Array.from({ length: trials }, (_, k) => Number((1 + i + (k + 1) / 100).toFixed(2))) };
      const tag = `bench-p${parallel}-${i}`;
      const request: SweepRequestInput = { project: 'penguins', repoUrl: stack.example.repoUrl, requestedBy: 'bench', location: 'gpu', releaseTag: tag, parallel, grid };
      const started = performance.now();
      const handle = await stack.client.workflow.start('sweep', { taskQueue: CONTROL_TASK_QUEUE, workflowId: sweepWorkflowId('penguins', tag), args: [request] });
      const result: SweepResult = await handle.result();
      const wall = (performance.now() - started) / 1000;
      const failed = result.trials.filter((t) => t.state === 'failed' || typeof t.cost !== 'number');
      if (failed.length) throw new Error(`${tag}: trials ${failed.map((t) => `${t.n} (${t.reason})`).join(', ')} did not run through`);
      const machine = result.trials.reduce((sum, t) => sum + (t.cost! / HOURLY_PRICE) * 3600, 0);
      rows.push({ parallel, wall, machine, overheadPerTrial: machine / trials - wait });
      console.log(`  parallel ${parallel}: ${wall.toFixed(1)} s (${result.summary})`);
    }
    const base = rows[0]!;
    const f = (x: number, w = 9, d = 1) => x.toFixed(d).padStart(w);
    console.log('');
    console.log('parallel   wall s  vs serial  ideal  machine s  overhead/trial s  single training s');
    for (const r of rows) {
      const ideal = Math.ceil(trials / r.parallel) / trials;
      console.log(`${String(r.parallel).padStart(8)} ${f(r.wall)} ${f(r.wall / base.wall, 9, 2)} ${f(ideal, 6, 2)} ${f(r.machine, 10)} ${f(r.overheadPerTrial, 17)} ${f(base.wall / trials, 18)}`);
    }
    console.log(`(single training s: the serial sweep's wall time per trial; wall / single for the widest: ${(rows.at(-1)!.wall / (base.wall / trials)).toFixed(2)}x)`);
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
