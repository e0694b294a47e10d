/**
 * Gate bootstrap speed: the paired bootstrap of the gate's metrics on a large
 * synthetic holdout, candidate and baseline on the same resamples. Goals on the
 * 2-core development machine, 100k rows x 1000 resamples: accuracy and rmse
 * under 500 ms each, roc_auc under 1.5 s.
 *
 *   pnpm exec tsx bench/gate-bootstrap.ts [--rows N] [--resamples R] [--rounds K] [--draws auto|rows|categories]
 *
 * Each metric runs `rounds` times after one warm-up; the fastest and the median
 * round are reported (wall clock), the goal judged on the fastest: the machine
 * is shared, and other work only ever adds time. "cpu" is the fastest round's
 * CPU time, which waiting for a busy core does not inflate. A round includes
 * building both models' per-row statistics. --draws rows times accuracy,
 * balanced_accuracy and f1_macro drawn row by row instead of as category counts.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { GateMetric } from '@cd4ml/contracts';
import { bootstrapMetric, Xoshiro128, type BootstrapOptions, type Draws } from '../activities/src/gate/statistics/index.ts';
import type { Outputs, Truth } from '../activities/src/gate/metrics/index.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' }, resamples: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '5' },
    draws: { type: 'string', default: 'auto' },
  },
});
if (!['auto', 'rows', 'categories'].includes(values.draws)) throw new Error(`--draws is auto, rows or categories, not ${values.draws}`);
const rows = Number(values.rows);
const options: BootstrapOptions = { resamples: Number(values.resamples), seed: 1, confidence: 0.95, draws: values.draws as Draws };
const rounds = Number(values.rounds);
const GOALS_MS: Partial<Record<GateMetric, number>> = { accuracy: 500, rmse: 500, roc_auc: 1500 };

const rng = new Xoshiro128(42);
const u = (): number => rng.nextDouble();

/** A binary classifier whose positive-class probability is informative, with `noise` blurring it; float32 like ONNX outputs. */
function classifier(labels: Int32Array, noise: number): Outputs {
  const probabilities = new Float32Array(2 * rows);
  const predicted = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const p = Math.min(1, Math.max(0, 0.5 + (labels[i] ? 0.2 : -0.2) + noise * (u() - 0.5)));
    probabilities[2 * i] = 1 - p;
    probabilities[2 * i + 1] = p;
    predicted[i] = p >= 0.5 ? 1 : 0;
  }
  return { predicted, probabilities };
}

function regressor(targets: Float64Array, noise: number): Outputs {
  const predictions = new Float32Array(rows);
  for (let i = 0; i < rows; i++) predictions[i] = targets[i]! + noise * (u() - 0.5);
  return { predictions };
}

const labels = Int32Array.from({ length: rows }, () => (u() < 0.4 ? 1 : 0));
const targets = Float64Array.from({ length: rows }, () => 50 + 20 * (u() - 0.5));
const cls: Truth = { task: 'classification', classes: ['no', 'yes'], labels };
const reg: Truth = { task: 'regression', targets };
const models: Record<'classification' | 'regression', [Truth, Outputs, Outputs]> = {
  classification: [cls, classifier(labels, 0.9), classifier(labels, 1.0)],
  regression: [reg, regressor(targets, 4), regressor(targets, 4.2)],
};
const METRICS: [GateMetric, keyof typeof models][] = [
  ['accuracy', 'classification'], ['balanced_accuracy', 'classification'], ['f1_macro', 'classification'],
  ['log_loss', 'classification'], ['roc_auc', 'classification'], ['rmse', 'regression'], ['mae', 'regression'], ['r2', 'regression'],
];

console.log(`paired bootstrap, ${rows} rows x ${options.resamples} resamples, draws ${options.draws}, candidate + baseline; wall: fastest and median of ${rounds} rounds`);
for (const [metric, task] of METRICS) {
  const [truth, candidate, baseline] = models[task];
  const times: { wall: number; cpu: number }[] = [];
  let line = '';
  for (let k = 0; k <= rounds; k++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const result = bootstrapMetric(metric, truth, candidate, baseline, options);
    const cpu = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    if (!result.ok) throw new Error(`${metric}: ${result.error}`);
    if (k > 0) times.push({ wall, cpu: (cpu.user + cpu.system) / 1000 });
    line = `diff ${result.value.difference.toFixed(5)} [${result.value.lo.toFixed(5)}, ${result.value.hi.toFixed(5)}]`;
  }
  times.sort((a, b) => a.wall - b.wall);
  const [fastest, median] = [times[0]!, times[Math.floor(times.length / 2)]!];
  const goal = GOALS_MS[metric];
  const verdict = goal === undefined ? '' : fastest.wall < goal ? `  (goal < ${goal} ms: met)` : `  (goal < ${goal} ms: MISSED)`;
  const ms = (t: number): string => `${t.toFixed(0).padStart(5)} ms`;
  console.log(`${metric.padEnd(18)} ${ms(fastest.wall)} ${ms(median.wall)}  cpu ${ms(fastest.cpu)}  ${line}${verdict}`);
}
