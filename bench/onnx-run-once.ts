// The gate's model run, end to end: a 4-feature, 3-class logistic regression
// (test/fixtures/gate/good.onnx) on a holdout of N rows. Each round times, in
// one go: JSON values -> typed arrays, thread start and model load, moving the
// input to the thread, session.run, moving the outputs back. The first round
// also pays onnxruntime's once-per-process set-up. Goal: under 300 ms at 100k rows.
//   pnpm exec tsx bench/onnx-run-once.ts [--rows 100000] [--rounds 7]
import { fromJsonTensor, runModelOnce } from '@cd4ml/onnx';
import { median } from './serving/common.ts';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 100_000);
const ROUNDS = arg('rounds', 7);
const MODEL = new URL('../test/fixtures/gate/good.onnx', import.meta.url).pathname;

// Penguin-like rows, as JSON.parse of a holdout.json would hand them over.
const centers = [[38.8, 18.3, 190, 3.7], [48.8, 18.4, 196, 3.7], [47.5, 15, 217, 5.1]];
const data = Array.from({ length: ROWS * 4 }, (_, i) => centers[Math.floor(i / 4) % 3]![i % 4]! * (0.9 + ((i * 7919) % 200) / 1000));

const times: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const started = performance.now();
  const input = fromJsonTensor({ name: 'input', datatype: 'FP32', shape: [ROWS, 4], data });
  const { results } = await runModelOnce(MODEL, [[input]]);
  const ms = performance.now() - started;
  const [label, probs] = results[0]!;
  if (label?.data.length !== ROWS || probs?.data.length !== ROWS * 3) throw new Error('unexpected outputs');
  times.push(ms);
}
const [first, ...rest] = times;
console.log(`runModelOnce, ${ROWS} rows: first run in this process ${first!.toFixed(0)} ms; then median ${median(rest).toFixed(0)} ms (${rest.map((t) => t.toFixed(0)).join(', ')})`);
