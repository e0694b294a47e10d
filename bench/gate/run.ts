// Gate benchmark: seconds for the gate to evaluate a candidate against the live
// release (both models run on the holdout, the task's metrics, the paired
// bootstrap) on holdouts of 1k, 10k and 100k rows, penguins-shaped and
// regression, against the Python route a team would script (onnxruntime +
// scikit-learn + numpy, bench/gate/python_gate.py), side by side in one run.
//   pnpm exec tsx bench/gate/run.ts [--repeats 3] [--rows 1000,10000,100000]
// cd4ml's figure starts from the files on disk (read, JSON, schema) as the
// evaluate activity does; Python's after its imports. Medians of `repeats`
// rounds, the two routes taking turns; ratio = Python / cd4ml (above 1: cd4ml faster).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { GateConfig, HoldoutSet, MetricsFile, SmokeSet } from '@cd4ml/contracts';
import { runGate } from '@cd4ml/activities/gate/evaluate';
import { REPO_ROOT, VENV } from '../../test/harness/paths.ts';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
};
const REPEATS = Number(arg('repeats', '3'));
const ROWS = arg('rows', '1000,10000,100000').split(',').map(Number);
const DATA = path.join(REPO_ROOT, '.cd4ml/bench-gate');
const PYTHON = path.join(VENV, 'bin/python');
const TASKS = ['classification', 'regression'] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function ensureData(): Promise<void> {
  const missing = TASKS.some((t) => ROWS.some((r) => !existsSync(path.join(DATA, t, String(r), 'holdout.json'))));
  if (!missing) return;
  console.log(`writing models and holdouts to ${DATA} (once)`);
  await execa(PYTHON, [path.join(REPO_ROOT, 'bench/gate/make_data.py'), DATA, ...ROWS.map(String)], { stdio: 'inherit' });
}

/** One evaluation as the activity does it: files from disk, parsed and checked, then runGate. */
async function cd4ml(task: (typeof TASKS)[number], rows: number, plots: boolean): Promise<number> {
  const dir = path.join(DATA, task);
  const started = performance.now();
  const json = async (file: string) => JSON.parse(await readFile(path.join(dir, String(rows), file), 'utf8'));
  const gate = GateConfig.parse(task === 'classification' ? {} : { task, metric: 'rmse', margin: 1 });
  const result = await runGate({
    modelPath: path.join(dir, 'candidate.onnx'),
    smoke: SmokeSet.parse(await json('smoke.json')),
    holdout: HoldoutSet.parse(await json('holdout.json')),
    metrics: MetricsFile.parse(await json('metrics.json')),
    gate,
    baseline: { tag: 'base', metrics: {}, modelPath: path.join(dir, 'baseline.onnx') },
  }, { plots });
  const seconds = (performance.now() - started) / 1000;
  if (result.comparison?.scoredOn !== 'models') throw new Error(`${task} ${rows}: the baseline was not scored: ${result.reasons.join('; ')}`);
  return seconds;
}

async function python(task: string, rows: number): Promise<number> {
  const { stdout } = await execa(PYTHON, [path.join(REPO_ROOT, 'bench/gate/python_gate.py'), path.join(DATA, task), String(rows)]);
  return (JSON.parse(stdout) as { seconds: number }).seconds;
}

await ensureData();
// Warm up once: a control worker is a long-lived process.
await cd4ml('classification', ROWS[0]!, true);
console.log(`gate: candidate + baseline on one holdout, median of ${REPEATS} rounds (seconds)\n`);
console.log('task            rows     cd4ml  cd4ml+plots   python   python/cd4ml');
for (const task of TASKS) {
  for (const rows of ROWS) {
    const c: number[] = [];
    const p: number[] = [];
    const py: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      // Taking turns, so drift in the machine's speed hits both routes alike.
      if (i % 2) py.push(await python(task, rows));
      c.push(await cd4ml(task, rows, false));
      p.push(await cd4ml(task, rows, true));
      if (!(i % 2)) py.push(await python(task, rows));
    }
    const [mc, mp, mpy] = [median(c), median(p), median(py)];
    console.log(`${task.padEnd(15)} ${String(rows).padStart(6)}  ${mc.toFixed(3).padStart(7)}  ${mp.toFixed(3).padStart(11)}  ${mpy.toFixed(3).padStart(7)}  ${(mpy / mc).toFixed(2).padStart(8)}x`);
  }
}
