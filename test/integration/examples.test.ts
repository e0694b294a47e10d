import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoldoutSet, MetricsFile, SmokeSet, parseProjectConfig, type ProjectConfig, type BulkTensor, type Tensor } from '@cd4ml/contracts';
import { ExampleRepo, type ExampleName } from '@cd4ml/client/demo/example-repo';
import { VENV } from '../harness/paths.ts';

// The regression and binary-classification examples as cd4ml meets them: a git
// repo with a DVC remote (ExampleRepo), `dvc repro` with the venv's real dvc,
// then the files the gate reads, checked against contracts and against the
// exported model run here in onnxruntime-node. No Temporal.

interface Outputs {
  metrics: MetricsFile;
  smoke: SmokeSet;
  holdout: HoldoutSet;
  modelPath: string;
}

async function repro(example: ExampleRepo): Promise<Outputs> {
  await example.run('dvc', 'repro', '--quiet');
  const json = async (rel: string): Promise<unknown> => JSON.parse(await readFile(path.join(example.workDir, rel), 'utf8'));
  return {
    metrics: MetricsFile.parse(await json('metrics.json')),
    smoke: SmokeSet.parse(await json('model/smoke.json')),
    holdout: HoldoutSet.parse(await json('model/holdout.json')),
    modelPath: path.join(example.workDir, 'model/model.onnx'),
  };
}

type Run = Record<string, { dims: readonly number[]; data: number[] }>;

async function runModel(modelPath: string, input: Tensor | BulkTensor): Promise<{ inputNames: readonly string[]; outputs: Run }> {
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const feeds = { [input.name]: new ort.Tensor('float32', Float32Array.from(input.data.map(Number)), input.shape) };
    const result = await session.run(feeds);
    const outputs: Run = {};
    for (const name of session.outputNames) {
      const t = result[name]!;
      outputs[name] = { dims: t.dims, data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
    }
    return { inputNames: session.inputNames, outputs };
  } finally {
    await session.release();
  }
}

const rows = (holdout: HoldoutSet): number => holdout.inputs[0]!.shape[0]!;
/** One string per holdout row: its inputs and its truth. */
const rowKeys = (holdout: HoldoutSet): string[] => {
  const [n, width] = holdout.inputs[0]!.shape as [number, number];
  const truth = holdout.targets ?? holdout.labels ?? [];
  return Array.from({ length: n }, (_, r) => `${holdout.inputs[0]!.data.slice(r * width, (r + 1) * width).join(',')}|${truth[r]}`);
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const rmse = (pred: number[], truth: number[]): number => Math.sqrt(mean(pred.map((p, i) => (p - truth[i]!) ** 2)));
const r2 = (pred: number[], truth: number[]): number => {
  const m = mean(truth);
  return 1 - pred.reduce((s, p, i) => s + (truth[i]! - p) ** 2, 0) / truth.reduce((s, t) => s + (t - m) ** 2, 0);
};
/** Probability that a random positive scores above a random negative (ties count half). */
const rocAuc = (score: number[], labels: number[]): number => {
  const pos = score.filter((_, i) => labels[i] === 1);
  const neg = score.filter((_, i) => labels[i] === 0);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
};

/** Every expected smoke output, reproduced by the model within the smoke tolerance. */
async function expectSmokeReproduced(o: Outputs): Promise<void> {
  const { outputs } = await runModel(o.modelPath, o.smoke.inputs[0]!);
  for (const exp of o.smoke.expectedOutputs) {
    const got = outputs[exp.name]!;
    expect(got.dims, exp.name).toEqual(exp.shape);
    got.data.forEach((v, i) => expect(Math.abs(v - Number(exp.data[i])), `${exp.name}[${i}]`).toBeLessThanOrEqual(o.smoke.tolerance));
  }
}

interface ExampleUnderTest {
  example: ExampleRepo;
  config: ProjectConfig;
  /** What `dvc repro` wrote for the initial data (days 1-6) and the default params. */
  first: Outputs;
}

/** The example as a repo in a scratch folder, its pipeline run once; removed after the describe block. */
function exampleUnderTest(name: ExampleName): ExampleUnderTest {
  const ctx = {} as ExampleUnderTest;
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), `cd4ml-example-${name}-`));
    ctx.example = new ExampleRepo(dir, VENV, { example: name });
    await ctx.example.create();
    ctx.config = parseProjectConfig(await readFile(path.join(ctx.example.workDir, 'cd4ml.yaml'), 'utf8'));
    ctx.first = await repro(ctx.example);
  });
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });
  return ctx;
}

/** The nightly data drop: one more day, and the pipeline sees all of it. */
async function expectDayAppended(t: ExampleUnderTest, totalRows: number): Promise<void> {
  expect(await t.example.appendDay()).toMatch(/^[0-9a-f]{40}$/);
  const next = await repro(t.example);
  expect(Number(next.metrics.n_train) + rows(next.holdout)).toBe(totalRows);
  expect(rows(next.holdout)).toBeGreaterThan(rows(t.first.holdout));
  expect(Number(next.metrics.n_train)).toBeGreaterThan(Number(t.first.metrics.n_train));
  // A row keeps its side when days arrive: the old holdout is part of the new one.
  const newRows = new Set(rowKeys(next.holdout));
  expect(rowKeys(t.first.holdout).filter((k) => !newRows.has(k))).toEqual([]);
}

describe('examples/diabetes: regression (real git, dvc, onnxruntime)', () => {
  const t = exampleUnderTest('diabetes');

  it('cd4ml.yaml is a regression gate on rmse', () => {
    expect(t.config.project).toBe('diabetes');
    expect(t.config.gate).toMatchObject({ task: 'regression', metric: 'rmse', predictionOutput: 'prediction' });
    expect(t.example.repoUrl).toMatch(/diabetes\.git$/);
  });

  it('writes the regression truth, and metrics under scikit-learn names with r2 folds', () => {
    const { holdout, metrics, smoke } = t.first;
    const n = rows(holdout);
    expect(holdout.features).toEqual(['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6']);
    expect(holdout.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [n, 10] });
    expect(holdout.classes).toBeUndefined();
    expect(holdout.labels).toBeUndefined();
    expect(holdout.targets).toHaveLength(n);
    expect(holdout.targets!.every((t) => typeof t === 'number' && Number.isFinite(t))).toBe(true);
    const { min, max } = holdout.targetRange!;
    expect(min).toBeGreaterThanOrEqual(25);
    expect(max).toBeLessThanOrEqual(346);
    expect(min).toBeLessThan(max);

    expect(metrics.n_holdout).toBe(n);
    expect(Number(metrics.n_train) + n).toBe(266); // days 1-6
    for (const k of ['rmse', 'mae', 'r2']) expect(typeof metrics[k], k).toBe('number');
    expect(metrics.folds).toHaveLength(5);
    expect(metrics.folds.every((f) => f > 0 && f < 1)).toBe(true);

    expect(smoke.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [5, 10] });
    expect(smoke.expectedOutputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([['prediction', 'FP32', [5, 1]]]);
  });

  it('the ONNX model gives prediction [N, 1], reproduces the reported rmse and r2 and the smoke outputs', async () => {
    const { holdout, metrics } = t.first;
    const { inputNames, outputs } = await runModel(t.first.modelPath, holdout.inputs[0]!);
    expect(inputNames).toEqual(['input']);
    expect(Object.keys(outputs)).toEqual(['prediction']);
    expect(outputs.prediction!.dims).toEqual([rows(holdout), 1]);
    const pred = outputs.prediction!.data;
    const targets = holdout.targets!.map(Number);
    expect(rmse(pred, targets)).toBeCloseTo(Number(metrics.rmse), 3);
    expect(r2(pred, targets)).toBeCloseTo(Number(metrics.r2), 4);
    expect(Number(metrics.rmse)).toBeLessThan(70);
    await expectSmokeReproduced(t.first);
  });

  it('train.alpha: 10000 is really worse (by more than the gate margin)', async () => {
    await t.example.setParams({ 'train.alpha': 10000 }, 'params: worse model');
    const worse = await repro(t.example);
    await t.example.setParams({ 'train.alpha': 1.0 }, 'params: default model');
    const { margin } = t.config.gate;
    expect(Number(worse.metrics.rmse)).toBeGreaterThan(Number(t.first.metrics.rmse) + 3 * margin);
    expect(Number(worse.metrics.r2)).toBeLessThan(0.15);
    expect(worse.holdout.targets).toEqual(t.first.holdout.targets);
  });

  it('export.prediction_scale .nan makes every prediction NaN; the files stay valid JSON', async () => {
    await t.example.setParams({ 'export.prediction_scale': Number.NaN }, 'params: broken export');
    expect(await readFile(path.join(t.example.workDir, 'params.yaml'), 'utf8')).toMatch(/prediction_scale: \.nan/);
    const broken = await repro(t.example);
    await t.example.setParams({ 'export.prediction_scale': 1.0 }, 'params: export fixed');
    const { outputs } = await runModel(broken.modelPath, broken.holdout.inputs[0]!);
    expect(outputs.prediction!.dims).toEqual([rows(broken.holdout), 1]);
    expect(outputs.prediction!.data.every(Number.isNaN)).toBe(true);
    // metrics and smoke are the scikit-learn pipeline's: finite, unchanged.
    expect(broken.metrics.rmse).toBe(t.first.metrics.rmse);
    expect(broken.smoke.expectedOutputs).toEqual(t.first.smoke.expectedOutputs);
  });

  it('append_day adds day 7 (44 rows) to train and holdout', () => expectDayAppended(t, 266 + 44));
});

describe('examples/breast-cancer: binary classification (real git, dvc, onnxruntime)', () => {
  const t = exampleUnderTest('breast-cancer');

  it('cd4ml.yaml is a classification gate on roc_auc', () => {
    expect(t.config.project).toBe('breast-cancer');
    expect(t.config.gate).toMatchObject({ task: 'classification', metric: 'roc_auc', labelOutput: 'label', probabilitiesOutput: 'probabilities' });
  });

  it('writes the classification truth, and metrics with roc_auc folds', () => {
    const { holdout, metrics, smoke } = t.first;
    const n = rows(holdout);
    expect(holdout.features).toHaveLength(30);
    expect(holdout.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [n, 30] });
    expect(holdout.classes).toEqual(['malignant', 'benign']);
    expect(holdout.labels).toHaveLength(n);
    expect(holdout.labels!.every((l) => l === 0 || l === 1)).toBe(true);
    expect(new Set(holdout.labels)).toEqual(new Set([0, 1]));
    expect(holdout.targets).toBeUndefined();
    expect(holdout.targetRange).toBeUndefined();

    expect(metrics.n_holdout).toBe(n);
    expect(Number(metrics.n_train) + n).toBe(342); // days 1-6
    for (const k of ['accuracy', 'roc_auc']) expect(typeof metrics[k], k).toBe('number');
    expect(metrics.folds).toHaveLength(5);
    expect(metrics.folds.every((f) => f > 0.9 && f <= 1)).toBe(true);

    expect(smoke.inputs[0]).toMatchObject({ name: 'input', datatype: 'FP32', shape: [5, 30] });
    expect(smoke.expectedOutputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ['label', 'INT64', [5]], ['probabilities', 'FP32', [5, 2]],
    ]);
  });

  it('the ONNX model gives label [N] and probabilities [N, 2], reproduces the reported roc_auc and accuracy and the smoke outputs', async () => {
    const { holdout, metrics } = t.first;
    const n = rows(holdout);
    const { inputNames, outputs } = await runModel(t.first.modelPath, holdout.inputs[0]!);
    expect(inputNames).toEqual(['input']);
    expect(Object.keys(outputs).sort()).toEqual(['label', 'probabilities']);
    expect(outputs.label!.dims).toEqual([n]);
    expect(outputs.probabilities!.dims).toEqual([n, 2]);
    const labels = holdout.labels!.map(Number);
    const benign = outputs.probabilities!.data.filter((_, i) => i % 2 === 1);
    expect(Math.abs(rocAuc(benign, labels) - Number(metrics.roc_auc))).toBeLessThan(1e-3);
    expect(mean(outputs.label!.data.map((l, i) => (l === labels[i] ? 1 : 0)))).toBeCloseTo(Number(metrics.accuracy), 6);
    expect(Number(metrics.roc_auc)).toBeGreaterThan(0.98);
    await expectSmokeReproduced(t.first);
  });

  it('train.features: [mean_texture] is really worse (by more than the gate margin)', async () => {
    await t.example.setParams({ 'train.features': ['mean_texture'] }, 'params: worse model');
    const worse = await repro(t.example);
    await t.example.setParams({ 'train.features': [] }, 'params: default model');
    const { margin } = t.config.gate;
    expect(Number(worse.metrics.roc_auc)).toBeLessThan(Number(t.first.metrics.roc_auc) - 10 * margin);
    expect(worse.holdout.features).toEqual(['mean_texture']);
    expect(worse.holdout.labels).toEqual(t.first.holdout.labels);
  });

  it('export.probability_scale 1.7 makes the probability rows sum to 1.7', async () => {
    await t.example.setParams({ 'export.probability_scale': 1.7 }, 'params: broken export');
    const broken = await repro(t.example);
    await t.example.setParams({ 'export.probability_scale': 1.0 }, 'params: export fixed');
    const { outputs } = await runModel(broken.modelPath, broken.holdout.inputs[0]!);
    const p = outputs.probabilities!.data;
    for (let r = 0; r < p.length / 2; r++) expect(p[2 * r]! + p[2 * r + 1]!).toBeCloseTo(1.7, 4);
  });

  it('append_day adds day 7 (57 rows) to train and holdout', () => expectDayAppended(t, 342 + 57));
});
