import { describe, expect, it } from 'vitest';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS } from '@cd4ml/contracts';
import {
  computeMetric, metricStatistics, weightedMetric,
  type ClassificationOutputs, type ClassificationTruth, type RegressionTruth,
} from '@cd4ml/activities/gate/metrics/index';
import { expectClose, fixtures, valueOf, type ClassificationCase } from '../fixtures/gate/sklearn-metrics.ts';

// Every figure here comes from scikit-learn 1.9.1 (test/fixtures/gate/make_metric_fixtures.py).

const truthOf = (c: ClassificationCase): ClassificationTruth => ({ task: 'classification', classes: c.classes, labels: Int32Array.from(c.labels) });
const outputsOf = (c: ClassificationCase): ClassificationOutputs => ({
  predicted: Int32Array.from(c.predicted),
  probabilities: c.dtype === 'FP32' ? Float32Array.from(c.probabilities) : Float64Array.from(c.probabilities),
});
// sklearn computes log_loss in float32 for float32 probabilities (cd4ml in float64): those agree to float32's precision.
const tolerance = (c: ClassificationCase, metric: string): number => (c.dtype === 'FP32' && metric === 'log_loss' ? 1e-6 : 1e-9);

describe('classification metrics match scikit-learn', () => {
  for (const c of fixtures.classification) {
    describe(c.name, () => {
      for (const metric of CLASSIFICATION_METRICS) {
        const expected = c.expected[metric]!;
        it(`${metric} ${expected === null ? 'is refused' : `= ${expected}`}`, () => {
          const got = computeMetric(metric, truthOf(c), outputsOf(c));
          if (expected === null) expect(got).toMatchObject({ ok: false });
          else expectClose(valueOf(got), expected, tolerance(c, metric));
        });
      }
      if (c.expectedFp64) {
        it('log_loss clips float32 probabilities at float32 eps, then computes in float64', () => {
          expectClose(valueOf(computeMetric('log_loss', truthOf(c), outputsOf(c))), c.expectedFp64!.log_loss!, 1e-12);
        });
      }
      c.resamples.forEach((r, k) => {
        it(`resample ${k}: weighted by draw counts = sklearn on the repeated rows`, () => {
          for (const metric of CLASSIFICATION_METRICS) {
            const stats = metricStatistics(metric, truthOf(c), outputsOf(c));
            const expected = r.expected[metric];
            if (!stats.ok) {
              expect(c.expected[metric], `${metric}: ${stats.error}`).toBeNull();
              continue;
            }
            const got = weightedMetric(stats.value, Int32Array.from(r.counts));
            if (expected === null || expected === undefined) expect(got, metric).toBeNaN();
            else expectClose(got, expected, tolerance(c, metric));
          }
        });
      });
    });
  }
});

describe('regression metrics match scikit-learn', () => {
  for (const c of fixtures.regression) {
    describe(c.name, () => {
      // Predictions arrive as float32 from ONNX models; the fixtures' values are float32-exact where the case says so.
      const truth: RegressionTruth = { task: 'regression', targets: Float64Array.from(c.targets) };
      const outputs = { predictions: Float64Array.from(c.predictions) };
      for (const metric of REGRESSION_METRICS) {
        const expected = c.expected[metric]!;
        it(`${metric} ${expected === null ? 'is refused' : `= ${expected}`}`, () => {
          const got = computeMetric(metric, truth, outputs);
          if (expected === null) expect(got).toMatchObject({ ok: false });
          else expectClose(valueOf(got), expected);
        });
      }
      c.resamples.forEach((r, k) => {
        it(`resample ${k}: weighted by draw counts = sklearn on the repeated rows`, () => {
          for (const metric of REGRESSION_METRICS) {
            const stats = valueOf(metricStatistics(metric, truth, outputs));
            expectClose(weightedMetric(stats, Int32Array.from(r.counts)), r.expected[metric]!);
          }
        });
      });
    });
  }

  it('float32 predictions give the figures of their float64 values', () => {
    const c = fixtures.regression.find((r) => r.name.includes('float32'))!;
    const truth: RegressionTruth = { task: 'regression', targets: Float64Array.from(c.targets) };
    expectClose(valueOf(computeMetric('rmse', truth, { predictions: Float32Array.from(c.predictions) })), c.expected.rmse!);
  });
});

describe('bad data is an error naming what is wrong, never a throw', () => {
  const binary: ClassificationTruth = { task: 'classification', classes: ['no', 'yes'], labels: [0, 1, 1, 0] };
  const three: ClassificationTruth = { task: 'classification', classes: ['a', 'b', 'c'], labels: [0, 1, 2, 1] };
  const probs3 = Float64Array.from([0.2, 0.3, 0.5, 0.6, 0.2, 0.2, 0.1, 0.1, 0.8, 0.3, 0.4, 0.3]);
  const regression: RegressionTruth = { task: 'regression', targets: Float64Array.from({ length: 20 }, (_, i) => i) };
  const predictions = Float64Array.from({ length: 20 }, (_, i) => i + 0.5);
  it.each([
    ['roc_auc on 3 classes', () => computeMetric('roc_auc', three, { probabilities: probs3 }), 'roc_auc needs exactly 2 classes, holdout has 3'],
    ['log_loss without probabilities', () => computeMetric('log_loss', binary, { predicted: [0, 1, 1, 0] }), 'log_loss needs probabilities'],
    ['accuracy without predicted labels', () => computeMetric('accuracy', binary, {}), 'accuracy needs predicted labels'],
    ['NaN prediction', () => computeMetric('rmse', regression, { predictions: predictions.map((v, i) => (i === 17 ? NaN : v)) }), 'NaN prediction at row 17'],
    ['infinite prediction', () => computeMetric('mae', regression, { predictions: predictions.map((v, i) => (i === 3 ? -Infinity : v)) }), '-Infinity prediction at row 3'],
    ['too few predictions', () => computeMetric('r2', regression, { predictions: predictions.subarray(0, 19) }), '19 predictions for 20 holdout rows'],
    ['a label out of range', () => computeMetric('accuracy', { ...three, labels: [0, 1, 3, 1] }, { predicted: [0, 1, 2, 1] }), 'label at row 2 is 3, not a class index 0..2'],
    ['a predicted label out of range', () => computeMetric('f1_macro', three, { predicted: [0, 1, 2, -1] }), 'predicted label at row 3 is -1, not a class index 0..2'],
    ['a fractional predicted label', () => computeMetric('balanced_accuracy', three, { predicted: [0, 1.5, 2, 1] }), 'predicted label at row 1 is 1.5, not a class index 0..2'],
    ['NaN probability', () => computeMetric('log_loss', three, { probabilities: probs3.map((v, i) => (i === 7 ? NaN : v)) }), 'NaN probability at row 2, class 1'],
    ['a probability above 1', () => computeMetric('log_loss', three, { probabilities: probs3.map((v, i) => (i === 4 ? 1.25 : v)) }), 'probability 1.25 at row 1, class 1 is outside [0, 1]'],
    ['probabilities of the wrong shape', () => computeMetric('log_loss', three, { probabilities: probs3.subarray(0, 9) }), 'log_loss: 9 probabilities for 4 rows x 3 classes'],
    ['roc_auc with one class in the truth', () => computeMetric('roc_auc', { ...binary, labels: [1, 1, 1, 1] }, { probabilities: [0.5, 0.5, 0.2, 0.8, 0.1, 0.9, 0.3, 0.7] }), 'roc_auc needs rows of both classes; all 4 holdout rows are class 1 (yes)'],
    ['log_loss with one class', () => computeMetric('log_loss', { ...binary, classes: ['only'], labels: [0, 0] }, { probabilities: [1, 1] }), 'log_loss needs at least 2 classes, holdout has 1'],
    ['r2 of one row', () => computeMetric('r2', { task: 'regression', targets: [1] }, { predictions: [1] }), 'r2 needs at least 2 rows, holdout has 1'],
    ['a regression metric on a classification holdout', () => computeMetric('rmse', binary, { predicted: [0, 1, 1, 0] }), 'rmse is a regression metric; the holdout is a classification one'],
    ['a classification metric on a regression holdout', () => computeMetric('accuracy', regression, { predictions }), 'accuracy is a classification metric; the holdout is a regression one'],
    ['an empty holdout', () => computeMetric('accuracy', { ...binary, labels: [] }, { predicted: [] }), 'accuracy: the holdout has no rows'],
  ])('%s', (_what, run, error) => {
    expect(run()).toEqual({ ok: false, error });
  });
});
