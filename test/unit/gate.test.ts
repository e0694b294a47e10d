import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GateConfig, HoldoutSet, MetricsFile, SmokeSet, type Tensor } from '@cd4ml/contracts';
import {
  baselineCheck, classBalanceCheck, foldOutlierCheck, probabilityRangeCheck, probabilitySumCheck, runGate, smokeCheck,
} from '@cd4ml/activities/gate/index';

// Fixtures come from test/fixtures/gate/make_models.py (see its docstring to regenerate).
const FIXTURES = new URL('../fixtures/gate/', import.meta.url);
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;
const json = (name: string): unknown => JSON.parse(readFileSync(fixture(name), 'utf8'));

const t = (name: string, datatype: Tensor['datatype'], shape: number[], data: number[]): Tensor => ({ name, datatype, shape, data });

// The comparison and its wording are @cd4ml/onnx's (onnx-smoke.test.ts); here, that the gate reports it as `smoke`.
describe('smokeCheck', () => {
  const smoke: SmokeSet = {
    inputs: [t('input', 'FP32', [1, 2], [1, 2])],
    expectedOutputs: [t('label', 'INT64', [2], [0, 2]), t('probabilities', 'FP32', [2, 2], [0.25, 0.75, 0.5, 0.5])],
    tolerance: 1e-4,
  };
  const label = t('label', 'INT64', [2], [0, 2]);
  it.each([
    ['within tolerance', [label, t('probabilities', 'FP32', [2, 2], [0.25003, 0.75, 0.5, 0.5])], true, /max \|diff\| 3.0e-5 <= tolerance/],
    ['missing output', [label], false, /^output probabilities missing \(model gave: label\)$/],
  ] as const)('%s', (_, actual, passed, detail) => {
    const c = smokeCheck([...actual], smoke);
    expect(c).toMatchObject({ name: 'smoke', passed });
    expect(c.detail).toMatch(detail);
  });
});

describe('probabilityRangeCheck', () => {
  it.each([
    ['valid', [0.2, 0.8, 1, 0], true, /all 4 values in \[0, 1\]/],
    ['NaN', [0.2, NaN, 1, 0], false, /1 NaN of 4 values \(worst NaN at row 0, class 1\)/],
    ['above one', [0.2, 0.8, 1.7, 0], false, /1 outside \[0, 1\] of 4 values \(worst 1.7 at row 1, class 0\)/],
    ['negative', [-0.1, 1.1, 0.5, 0.5], false, /2 outside/],
    ['wrong length', [0.5, 0.5, 1], false, /3 values for 2 rows x 2 classes/],
  ] as const)('%s', (_, probs, passed, detail) => {
    const c = probabilityRangeCheck(Float32Array.from(probs), 2, 2);
    expect(c).toMatchObject({ name: 'probabilities-in-range', passed });
    expect(c.detail).toMatch(detail);
  });
});

describe('probabilitySumCheck', () => {
  it.each([
    ['rows sum to one', [0.2, 0.8, 0.5, 0.5, 1, 0], 1e-3, true, /<= tolerance 0.001/],
    ['one row off', [0.2, 0.8, 0.6, 0.6, 1, 0], 1e-3, false, /row 1 sums to 1.2 \(\|diff\| 0.2 > tolerance 0.001\)/],
    ['worst row named', [0.2, 0.81, 0.5, 0.5, 1, 0.1], 0.5, true, /row 2 sums to 1.1/],
    ['NaN row', [0.2, 0.8, NaN, 0.5, 1, 0], 1e-3, false, /row 1 sums to NaN/],
    ['all rows times 1.7', [0.34, 1.36, 0.85, 0.85, 1.7, 0], 1e-3, false, /sums to 1.7/],
  ] as const)('%s', (_, probs, tolerance, passed, detail) => {
    const c = probabilitySumCheck([...probs], 3, 2, tolerance);
    expect(c).toMatchObject({ name: 'probabilities-sum-to-one', passed });
    expect(c.detail).toMatch(detail);
  });
});

describe('classBalanceCheck', () => {
  const classes = ['adelie', 'chinstrap', 'gentoo'];
  // A 70-row holdout with 30/13/27 rows per class.
  const labels = [...Array<number>(30).fill(0), ...Array<number>(13).fill(1), ...Array<number>(27).fill(2)];
  const withMistakes = (n: number, from: number, to: number): number[] => {
    const p = [...labels];
    let left = n;
    for (let i = 0; i < p.length && left > 0; i++) if (p[i] === from) { p[i] = to; left--; }
    return p;
  };
  it.each([
    ['perfect', labels, true, /adelie 30 predicted vs 30 true/],
    ['one mistake on the small class', withMistakes(1, 1, 0), true, /chinstrap 12 predicted vs 13 true \(max diff 3.606\)/],
    ['two mistakes on the small class', withMistakes(2, 1, 2), true, /gentoo 29 predicted vs 27 true/],
    ['small class never predicted', withMistakes(13, 1, 0), false, /chinstrap 0 predicted vs 13 true \(max diff 3.606, FAIL\)/],
    ['single-class predictions', Array<number>(70).fill(0), false, /adelie 70 predicted vs 30 true .*FAIL/],
    ['prediction outside the classes', [...labels.slice(1), 7], false, /1 predictions outside 0..2 \(e.g. 7\)/],
    ['length mismatch', labels.slice(1), false, /69 predictions for 70 holdout labels/],
  ] as const)('%s', (_, predicted, passed, detail) => {
    const c = classBalanceCheck([...predicted], labels, classes, 0.1);
    expect(c).toMatchObject({ name: 'class-balance', passed });
    expect(c.detail).toMatch(detail);
  });

  it('uses the configured fraction on large holdouts', () => {
    const big = [...Array<number>(1000).fill(0), ...Array<number>(1000).fill(1)];
    const shifted = (n: number): number[] => big.map((l, i) => (i < n ? 1 : l));
    expect(classBalanceCheck(shifted(100), big, ['a', 'b'], 0.1).passed).toBe(true);
    expect(classBalanceCheck(shifted(101), big, ['a', 'b'], 0.1)).toMatchObject({ passed: false });
    expect(classBalanceCheck(shifted(101), big, ['a', 'b'], 0.1).detail).toMatch(/a 899 predicted vs 1000 true \(max diff 100, FAIL\)/);
  });
});

describe('foldOutlierCheck', () => {
  it.each([
    ['close folds', [0.92, 0.93, 0.91, 0.94, 0.92], 0.1, true, /all 5 folds within 0.02 of the median 0.92 \(max 0.1\)/],
    ['one outlier fold', [0.92, 0.93, 0.61, 0.94, 0.92], 0.1, false, /fold 3 of 5 = 0.61 is 0.31 from the median 0.92 \(max 0.1\)/],
    ['exactly at the limit', [0.9, 0.8, 0.9], 0.1, true, /within 0.1 of the median 0.9/],
    ['even number of folds', [0.8, 0.9, 1.0, 0.9], 0.1, true, /median 0.9/],
    ['NaN fold', [0.9, NaN, 0.9], 0.1, false, /fold 2 of 3 is NaN/],
    ['one fold', [0.9], 0.1, false, /need at least 2 folds, got 1/],
  ] as const)('%s', (_, folds, max, passed, detail) => {
    const c = foldOutlierCheck([...folds], max);
    expect(c).toMatchObject({ name: 'fold-outliers', passed });
    expect(c.detail).toMatch(detail);
  });
});

describe('baselineCheck', () => {
  const v13 = (value: unknown) => ({ tag: 'v1.3', value });
  it.each([
    ['no baseline', 0.5, null, true, 0.02, /no baseline: first model/],
    ['better than baseline', 0.97, v13(0.96), true, 0.02, /accuracy 0.97 vs baseline v1.3 0.96: \+0.01 \(margin 0.02\)/],
    ['worse within margin', 0.95, v13(0.96), true, 0.02, /: -0.01 \(margin 0.02\)/],
    ['exactly at the margin', 0.94, v13(0.96), true, 0.02, /accuracy 0.94 vs baseline v1.3 0.96: -0.02 \(margin 0.02\)/],
    ['beyond the margin', 0.93, v13(0.96), false, 0.02, /: -0.03 \(margin 0.02\)/],
    ['zero margin, equal', 0.96, v13(0.96), true, 0, /: 0 \(margin 0\)/],
    ['NaN candidate', NaN, v13(0.96), false, 0.02, /accuracy of the candidate is NaN, not a number/],
    ['missing candidate', undefined, v13(0.96), false, 0.02, /accuracy missing from the candidate's metrics/],
    ['list candidate', [0.9], v13(0.96), false, 0.02, /is a list/],
    ['baseline lacks the metric', 0.9, v13(undefined), true, 0.02, /baseline v1.3 has no numeric accuracy/],
  ] as const)('%s', (_, candidate, baseline, passed, margin, detail) => {
    const c = baselineCheck('accuracy', candidate, baseline, true, margin);
    expect(c).toMatchObject({ name: 'baseline', passed });
    expect(c.detail).toMatch(detail);
  });

  it.each([
    ['lower is better, improved', 0.3, true, /rmse 0.3 vs baseline v2 0.4: -0.1 \(margin 0.05, lower is better\)/],
    ['lower is better, within margin', 0.44, true, /\+0.04/],
    ['lower is better, worse beyond margin', 0.5, false, /rmse 0.5 vs baseline v2 0.4: \+0.1 \(margin 0.05, lower is better\)/],
  ] as const)('%s', (_, candidate, passed, detail) => {
    const c = baselineCheck('rmse', candidate, { tag: 'v2', value: 0.4 }, false, 0.05);
    expect(c).toMatchObject({ name: 'baseline', passed });
    expect(c.detail).toMatch(detail);
  });
});

describe('runGate on real ONNX models', () => {
  const smoke = SmokeSet.parse(json('smoke.json'));
  const holdout = HoldoutSet.parse(json('holdout.json'));
  const metrics = MetricsFile.parse(json('metrics.json'));
  const gate = GateConfig.parse({});
  const base = { modelPath: fixture('good.onnx'), smoke, holdout, metrics, gate, baseline: null };
  const release = (model: string, recorded = { accuracy: 0.95, folds: [0.9, 0.9] }) => ({ tag: 'v1.3', metrics: recorded, modelPath: fixture(model) });
  const failed = (d: { checks: { name: string; passed: boolean }[] }): string[] => d.checks.filter((c) => !c.passed).map((c) => c.name);
  const detail = (d: { checks: { name: string; detail: string }[] }, name: string) => d.checks.find((c) => c.name === name)?.detail ?? '';
  const noPlots = { plots: false };

  it('accepts the good model as a first release, with the metrics it measured itself', async () => {
    const d = await runGate(base, noPlots);
    expect(d.reasons).toEqual([]);
    expect(d.accepted).toBe(true);
    expect(d.checks.map((c) => c.name)).toEqual([
      'holdout', 'model-loads', 'model-runs', 'smoke', 'probabilities-in-range', 'probabilities-sum-to-one', 'class-balance',
      'fold-outliers', 'reported-metric', 'baseline',
    ]);
    expect(d.metrics.accuracy).toBeCloseTo(0.9571, 4);
    expect(Object.keys(d.metrics).sort()).toEqual(['accuracy', 'balanced_accuracy', 'f1_macro', 'log_loss']);
    expect(d.reportedMetrics).toEqual(metrics);
    expect(detail(d, 'holdout')).toBe('70 rows: adelie 32, chinstrap 9, gentoo 29');
    expect(detail(d, 'reported-metric')).toMatch(/metrics.json says accuracy 0.9571, cd4ml measured 0.9571 on the same 70 holdout rows/);
    expect(d.comparison).toMatchObject({ scoredOn: 'none', metric: 'accuracy', rows: 70 });
    expect(d.model.inputs[0]?.name).toBe('input');
  });

  it('scores the baseline release\'s model on the same rows: an identical model passes not-worse and fails better', async () => {
    const notWorse = await runGate({ ...base, baseline: release('good.onnx') }, noPlots);
    expect(notWorse.accepted).toBe(true);
    expect(notWorse.comparison).toMatchObject({ scoredOn: 'models', difference: 0, lo: 0, hi: 0, baselineTag: 'v1.3' });
    // The baseline's figures are its own on this holdout, not the 0.95 recorded with it.
    expect(notWorse.baseline?.metrics.accuracy).toBeCloseTo(0.9571, 4);
    expect(detail(notWorse, 'baseline')).toMatch(/McNemar exact p = 1 \(0 rows only the candidate gets right, 0 only the baseline\)/);
    const better = await runGate({ ...base, gate: GateConfig.parse({ policy: 'better' }), baseline: release('good.onnx') }, noPlots);
    expect(better.accepted).toBe(false);
    expect(better.reasons).toEqual([expect.stringMatching(/^baseline: accuracy 0.9571 vs baseline v1.3 0.9571: 0 \(95% CI 0 to 0, 70 rows, 1000 resamples\); better: failed/)]);
  });

  it('rejects a candidate that is worse on the shared holdout, whatever was recorded for the baseline', async () => {
    const d = await runGate({ ...base, modelPath: fixture('weak.onnx'), metrics: { ...metrics, accuracy: 0.9999 }, baseline: release('good.onnx', { accuracy: 0.5, folds: [0.5, 0.5] }) }, noPlots);
    expect(d.accepted).toBe(false);
    expect(failed(d)).toEqual(expect.arrayContaining(['reported-metric', 'baseline']));
    expect(detail(d, 'baseline')).toMatch(/accuracy 0.7714 vs baseline v1.3 0.9571: -0.1857 \(95% CI -0.\d+ to -0.\d+, 70 rows, 1000 resamples\); not-worse with margin 0.02: failed/);
    expect(detail(d, 'reported-metric')).toMatch(/metrics.json says accuracy 0.9999, cd4ml measured 0.7714/);
  });

  it('catches a metrics.json that claims more than the model does', async () => {
    const d = await runGate({ ...base, metrics: { ...metrics, accuracy: 0.9999 } }, noPlots);
    expect(failed(d)).toEqual(['reported-metric']);
  });

  it('a baseline whose model no longer loads falls back to the recorded figures, with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const path = join(dir, 'model.onnx');
    writeFileSync(path, randomBytes(2048));
    const d = await runGate({ ...base, baseline: { tag: 'v1.3', metrics: { accuracy: 0.99, folds: [0.99, 0.99] }, modelPath: path } }, noPlots);
    expect(d.accepted).toBe(false);
    expect(d.comparison).toMatchObject({ scoredOn: 'reported', warning: expect.stringMatching(/^baseline v1.3's model could not be scored on this holdout/) });
    expect(detail(d, 'baseline')).toMatch(/^WARNING: .*decided on the figures the trainings reported instead: accuracy 0.9571 vs baseline v1.3 0.99: -0.0329 \(margin 0.02\)$/);
  });

  it('rejects the model whose probabilities do not sum to one', async () => {
    const d = await runGate({ ...base, modelPath: fixture('broken.onnx') }, noPlots);
    expect(d.accepted).toBe(false);
    expect(failed(d)).toContain('probabilities-sum-to-one');
    expect(d.reasons.find((r) => r.startsWith('probabilities-sum-to-one:'))).toMatch(/sums to 1.7 /);
    expect(failed(d)).not.toContain('class-balance');
  });

  it('rejects a corrupt file with model-loads, without throwing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gate-'));
    const path = join(dir, 'model.onnx');
    writeFileSync(path, randomBytes(2048));
    const d = await runGate({ ...base, modelPath: path }, noPlots);
    expect(d.accepted).toBe(false);
    expect(d.checks[1]).toMatchObject({ name: 'model-loads', passed: false });
    // Every check still reports.
    expect(d.checks.map((c) => c.name)).toEqual([
      'holdout', 'model-loads', 'probabilities-in-range', 'probabilities-sum-to-one', 'class-balance', 'fold-outliers', 'reported-metric', 'baseline',
    ]);
  });

  it('rejects inputs the model cannot take with model-runs', async () => {
    const renamed = { ...smoke, inputs: smoke.inputs.map((i) => ({ ...i, name: 'features' })) };
    const d = await runGate({ ...base, smoke: renamed }, noPlots);
    expect(d.accepted).toBe(false);
    expect(d.reasons[0]).toBe('model-runs: unknown input "features"; the model takes input FP32[-1,4] (model inputs: input FP32[-1,4])');
  });

  it('fails the output checks when the configured outputs do not exist', async () => {
    const d = await runGate({ ...base, gate: GateConfig.parse({ probabilitiesOutput: 'output_probability', labelOutput: 'output_label' }) }, noPlots);
    expect(failed(d)).toEqual(['probabilities-in-range', 'probabilities-sum-to-one', 'class-balance', 'reported-metric', 'baseline']);
    expect(d.reasons[0]).toMatch(/neither a label output 'output_label' nor a probabilities output 'output_probability' \(outputs: label, probabilities\)/);
  });

  it('a holdout of the wrong kind fails the holdout check naming the field, and nothing crashes', async () => {
    const regression = await runGate({ ...base, gate: GateConfig.parse({ task: 'regression', metric: 'rmse' }) }, noPlots);
    expect(detail(regression, 'holdout')).toBe('holdout.json targets: missing; a regression holdout needs a target per row (it has labels or classes: is gate.task right?)');
    const outOfRange = await runGate({ ...base, holdout: { ...holdout, labels: holdout.labels!.map((l, i) => (i === 4 ? 7 : l)) } }, noPlots);
    expect(detail(outOfRange, 'holdout')).toBe('holdout.json labels[4]: 7 is not a class index 0..2');
    const tooFew = await runGate({ ...base, gate: GateConfig.parse({ minRows: 100 }) }, noPlots);
    expect(detail(tooFew, 'holdout')).toBe('holdout.json has 70 rows; the gate needs at least 100 (gate.minRows)');
    for (const d of [regression, outOfRange, tooFew]) expect(d.accepted).toBe(false);
  });

  it('outputs that do not fit the task fail checks naming the output and the shape expected', async () => {
    // A regression gate reading the classifier's [rows, 3] probabilities: one number per row was expected.
    const targets = holdout.labels!.map((l) => Number(l) * 10);
    const regression = await runGate({
      ...base, holdout: { ...holdout, classes: undefined, labels: undefined, targets, targetRange: { min: 0, max: 20 } },
      gate: GateConfig.parse({ task: 'regression', metric: 'rmse', predictionOutput: 'probabilities' }),
    }, noPlots);
    expect(detail(regression, 'finite-predictions')).toBe('probabilities has shape [70,3] (FP32); a regression model gives one number per holdout row: [70] or [70, 1]');
    expect(failed(regression)).toEqual(expect.arrayContaining(['finite-predictions', 'prediction-range', 'residual-bias', 'reported-metric', 'baseline']));
    // log_loss needs probabilities; a model that gives labels only cannot be measured on it.
    const logLoss = await runGate({ ...base, gate: GateConfig.parse({ metric: 'log_loss', probabilitiesOutput: 'scores' }) }, noPlots);
    expect(detail(logLoss, 'reported-metric')).toBe('cd4ml could not measure log_loss on the holdout: log_loss needs probabilities');
    expect(failed(logLoss)).toEqual(expect.arrayContaining(['probabilities-in-range', 'reported-metric', 'baseline']));
  });

  it('draws the confusion matrix of the candidate beside the baseline', async () => {
    const d = await runGate({ ...base, baseline: release('weak.onnx') });
    expect(d.plots).toEqual([{ file: 'plots/confusion-matrix.svg', title: 'Confusion matrix on 70 holdout rows' }]);
    const svg = d.plotFiles[0]!.svg;
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('baseline v1.3');
    expect(svg).toContain('chinstrap');
  });
});
