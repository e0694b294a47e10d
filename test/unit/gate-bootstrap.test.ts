import { describe, expect, it } from 'vitest';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS, type GateMetric } from '@cd4ml/contracts';
import type { ClassificationTruth, Outputs, RegressionTruth, Truth } from '@cd4ml/activities/gate/metrics/index';
import {
  binomialTwoSidedHalf, bootstrapMetric, drawCounts, mcnemarExact, pairedBootstrap, pairedBootstrapAll, sortedQuantile, sumOverDraws, sumPairOverDraws,
  Xoshiro128,
  type BootstrapOptions,
} from '@cd4ml/activities/gate/statistics/index';
import { metricStatistics } from '@cd4ml/activities/gate/metrics/index';
import { expectClose, fixtures, valueOf, type BootstrapCase } from '../fixtures/gate/sklearn-metrics.ts';

// Reference figures: test/fixtures/gate/make_metric_fixtures.py (scikit-learn, numpy, scipy, and a
// Python port of the generator); simulations have a difference known by construction.

const OPTIONS: BootstrapOptions = { resamples: 1000, seed: 1, confidence: 0.95 };

describe('xoshiro128**', () => {
  it('gives the reference outputs for state 1, 2, 3, 4', () => {
    const g = Xoshiro128.fromState(fixtures.xoshiro128.state);
    expect(fixtures.xoshiro128.outputs.map(() => g.nextUint32())).toEqual(fixtures.xoshiro128.outputs);
  });
  it('is seeded the same way as the fixture script port', () => {
    const g = new Xoshiro128(fixtures.xoshiro128.seed);
    expect(fixtures.xoshiro128.seededOutputs.map(() => g.nextUint32())).toEqual(fixtures.xoshiro128.seededOutputs);
  });
  it('draws bounded integers without bias: an output whose low word falls short is rejected (Lemire)', () => {
    const { state, below3, nextAfterBelow3 } = fixtures.xoshiro128;
    const g = Xoshiro128.fromState(state);
    expect(below3.map(() => g.nextBelow(3))).toEqual(below3);
    expect(g.nextUint32()).toBe(nextAfterBelow3);
    // drawCounts makes the same draws: two resamples of 3 rows are below3's first and last three.
    const h = Xoshiro128.fromState(state);
    const tally = (draws: number[]): Int32Array => Int32Array.from([0, 1, 2], (i) => draws.filter((d) => d === i).length);
    const counts = new Int32Array(3);
    drawCounts(h, counts);
    expect(counts).toEqual(tally(below3.slice(0, 3)));
    drawCounts(h, counts);
    expect(counts).toEqual(tally(below3.slice(3)));
    expect(h.nextUint32()).toBe(nextAfterBelow3);
  });
  it('drawCounts counts the same draws as nextBelow, n per resample', () => {
    for (const n of [1, 7, 1000, 65537]) {
      const a = new Xoshiro128(5);
      const b = new Xoshiro128(5);
      const counts = new Int32Array(n);
      drawCounts(a, counts);
      const expected = new Int32Array(n);
      for (let i = 0; i < n; i++) expected[nextIndex(b, n)]!++;
      expect(counts).toEqual(expected);
      expect(a.nextUint32()).toBe(b.nextUint32());
    }
  });
  it('sumOverDraws sums over the same draws drawCounts counts', () => {
    const n = 5000;
    const values = Float64Array.from({ length: n }, (_, i) => (i % 3) - 1);
    const a = new Xoshiro128(8);
    const b = new Xoshiro128(8);
    const counts = new Int32Array(n);
    for (let r = 0; r < 3; r++) {
      drawCounts(a, counts);
      const expected = counts.reduce((s, c, i) => s + c * values[i]!, 0);
      expect(sumOverDraws(b, values)).toBe(expected);
    }
    expect(b.nextUint32()).toBe(a.nextUint32());
  });
  it('sumPairOverDraws sums two columns over the same draws drawCounts counts', () => {
    const n = 5000;
    // Integers, so the sums are exact whatever the order they are added in.
    const x = Float64Array.from({ length: n }, (_, i) => i % 7);
    const y = Float64Array.from({ length: n }, (_, i) => (i * 3) % 11);
    const a = new Xoshiro128(9);
    const b = new Xoshiro128(9);
    const counts = new Int32Array(n);
    const sums = new Float64Array(2);
    for (let r = 0; r < 3; r++) {
      drawCounts(a, counts);
      sumPairOverDraws(b, x, y, sums);
      expect([...sums]).toEqual([counts.reduce((s, c, i) => s + c * x[i]!, 0), counts.reduce((s, c, i) => s + c * y[i]!, 0)]);
    }
    expect(b.nextUint32()).toBe(a.nextUint32());
  });
  it('draws indexes uniformly (chi-square over 10 bins, 100000 draws)', () => {
    const g = new Xoshiro128(3);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) bins[g.nextBelow(10)]!++;
    const chi2 = bins.reduce((s, o) => s + (o - 10_000) ** 2 / 10_000, 0);
    expect(chi2).toBeLessThan(27.9); // 99.9th percentile of chi-square with 9 degrees of freedom
  });
});
const nextIndex = (g: Xoshiro128, n: number): number => g.nextBelow(n);

describe('sortedQuantile', () => {
  const { values, q, expected } = fixtures.quantiles;
  it.each(q.map((x, i) => [x, expected[i]!]))('q=%s is %s (numpy.quantile)', (x, e) => {
    expectClose(sortedQuantile(values, x), e, 1e-15);
  });
});

function truthOf(c: BootstrapCase): Truth {
  return c.truth.task === 'classification'
    ? { task: 'classification', classes: c.truth.classes, labels: Int32Array.from(c.truth.labels) }
    : { task: 'regression', targets: Float64Array.from(c.truth.targets) };
}
const outputsOf = (m: Record<string, number[]>): Outputs => ('predictions' in m
  ? { predictions: Float64Array.from(m.predictions!) }
  : { predicted: Int32Array.from(m.predicted!), probabilities: Float64Array.from(m.probabilities!) });

// The fixtures draw rows; accuracy, balanced_accuracy and f1_macro would otherwise draw category
// counts instead (gate-categorical-bootstrap.test.ts holds that path to this one).
describe('paired bootstrap drawn row by row = the same resamples scored by scikit-learn, interval by numpy.quantile', () => {
  for (const c of fixtures.bootstrap) {
    it(c.name, () => {
      const options: BootstrapOptions = { ...c.options, draws: 'rows' };
      const got = valueOf(bootstrapMetric(c.metric as GateMetric, truthOf(c), outputsOf(c.candidate), outputsOf(c.baseline), options));
      expectClose(got.candidate, c.expected.candidate);
      expectClose(got.baseline, c.expected.baseline);
      expectClose(got.difference, c.expected.difference);
      expectClose(got.lo, c.expected.lo);
      expectClose(got.hi, c.expected.hi);
      expect(got.undefinedResamples).toBe(c.expected.undefinedResamples);
      expect(got).toMatchObject({ ...c.options, rows: c.truth.task === 'classification' ? c.truth.labels.length : c.truth.targets.length });
    });
  }
});

// Synthetic holdouts: per row (candidate right?, baseline right?) drawn from a known joint distribution.
function pairedRows(g: Xoshiro128, n: number, both: number, candidateOnly: number, baselineOnly: number) {
  const labels = new Int32Array(n);
  const c = new Int32Array(n);
  const b = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = g.nextBelow(2);
    const u = g.nextDouble();
    const cRight = u < both + candidateOnly;
    const bRight = u < both || (u >= both + candidateOnly && u < both + candidateOnly + baselineOnly);
    c[i] = cRight ? labels[i]! : 1 - labels[i]!;
    b[i] = bRight ? labels[i]! : 1 - labels[i]!;
  }
  const truth: ClassificationTruth = { task: 'classification', classes: ['no', 'yes'], labels };
  return { truth, c: { predicted: c }, b: { predicted: b } };
}

describe('paired bootstrap', () => {
  const g = new Xoshiro128(2024);
  const data = pairedRows(g, 300, 0.7, 0.15, 0.05);

  it('same seed, same numbers; another seed, another interval', () => {
    const a = valueOf(bootstrapMetric('accuracy', data.truth, data.c, data.b, OPTIONS));
    expect(valueOf(bootstrapMetric('accuracy', data.truth, data.c, data.b, OPTIONS))).toEqual(a);
    const other = valueOf(bootstrapMetric('accuracy', data.truth, data.c, data.b, { ...OPTIONS, seed: 2 }));
    expect(other.difference).toBe(a.difference);
    expect([other.lo, other.hi]).not.toEqual([a.lo, a.hi]);
  });

  // 'auto': accuracy and f1_macro draw category counts, each from its own multinomial; 'rows': all four share the row draws.
  it.each(['auto', 'rows'] as const)('several metrics from one seed give each metric the interval it has alone (draws: %s)', (draws) => {
    const options = { ...OPTIONS, draws };
    const probabilities = Float64Array.from({ length: 600 }, (_, i) => (i % 2 ? (i % 7) / 7 : 0));
    for (let r = 0; r < 300; r++) probabilities[2 * r] = 1 - probabilities[2 * r + 1]!;
    const c = { ...data.c, probabilities };
    const b = { ...data.b, probabilities: probabilities.map((p, i) => (i % 2 ? (p + 0.3) / 1.3 : 1 - (1 - p + 0.3) / 1.3)) };
    const metrics = ['accuracy', 'f1_macro', 'roc_auc', 'log_loss'] as const;
    const pairs = metrics.map((m) => ({ candidate: valueOf(metricStatistics(m, data.truth, c)), baseline: valueOf(metricStatistics(m, data.truth, b)) }));
    const short = valueOf(metricStatistics('accuracy', { ...data.truth, labels: [0, 1] }, { predicted: [0, 1] }));
    const all = pairedBootstrapAll([...pairs, { candidate: short, baseline: short }], options);
    pairs.forEach((p, m) => {
      const alone = valueOf(pairedBootstrap(p.candidate, p.baseline, options));
      const shared = valueOf(all[m]!);
      expect({ ...shared, lo: 0, hi: 0 }).toEqual({ ...alone, lo: 0, hi: 0 });
      expectClose(shared.lo, alone.lo, 1e-12);
      expectClose(shared.hi, alone.hi, 1e-12);
    });
    expect(all[4]).toEqual({ ok: false, error: 'accuracy is on 2 rows, the first metric on 300: not the same holdout' });
  });

  it.each(['rows', 'categories'] as const)('covers the true accuracy difference at about the nominal 95% (300 simulated holdouts, draws: %s)', (draws) => {
    // P(both right) 0.75, P(candidate only) 0.12, P(baseline only) 0.07: the true difference is 0.05.
    const sim = new Xoshiro128(77);
    let covered = 0;
    for (let k = 0; k < 300; k++) {
      const d = pairedRows(sim, 200, 0.75, 0.12, 0.07);
      const i = valueOf(bootstrapMetric('accuracy', d.truth, d.c, d.b, { resamples: 400, seed: k, confidence: 0.95, draws }));
      if (i.lo <= 0.05 && 0.05 <= i.hi) covered++;
    }
    expect(covered / 300).toBeGreaterThanOrEqual(0.91);
    expect(covered / 300).toBeLessThanOrEqual(0.98);
  });

  it('a clearly better model has an interval above 0', () => {
    const d = pairedRows(new Xoshiro128(9), 200, 0.7, 0.25, 0.02);
    const i = valueOf(bootstrapMetric('accuracy', d.truth, d.c, d.b, OPTIONS));
    expect(i.lo).toBeGreaterThan(0);
  });

  it('a clearly better regressor has an rmse interval below 0', () => {
    const targets = Float64Array.from({ length: 200 }, () => 10 * g.nextDouble());
    const noisy = (s: number) => ({ predictions: targets.map((y) => y + s * (g.nextDouble() - 0.5)) });
    const i = valueOf(bootstrapMetric('rmse', { task: 'regression', targets }, noisy(1), noisy(3), OPTIONS));
    expect(i.hi).toBeLessThan(0);
  });

  describe('identical models differ by exactly 0, interval [0, 0]', () => {
    const labels = data.truth.labels;
    const probabilities = Float64Array.from({ length: 600 }, (_, i) => (i % 2 ? 0.3 + 0.4 * ((i * 7919) % 13) / 13 : 0));
    for (let r = 0; r < 300; r++) probabilities[2 * r] = 1 - probabilities[2 * r + 1]!;
    const model = { predicted: data.c.predicted, probabilities };
    const targets = Float64Array.from({ length: 300 }, (_, i) => Math.sin(i));
    const predictions = { predictions: targets.map((y, i) => y + Math.cos(3 * i) / 4) };
    const cases: [GateMetric, Truth, Outputs][] = [
      ...CLASSIFICATION_METRICS.map((m): [GateMetric, Truth, Outputs] => [m, data.truth, model]),
      ...REGRESSION_METRICS.map((m): [GateMetric, Truth, Outputs] => [m, { task: 'regression', targets } as RegressionTruth, predictions]),
    ];
    it.each(cases)('%s', (metric, truth, outputs) => {
      const copy = structuredClone(outputs);
      for (const draws of ['rows', 'categories'] as const) {
        const i = valueOf(bootstrapMetric(metric, truth, outputs, copy, { ...OPTIONS, draws }));
        expect([i.difference, i.lo, i.hi]).toEqual([0, 0, 0]);
      }
    });
  });

  it.each([
    [{ resamples: 0 }, 'resamples must be a positive integer, got 0'],
    [{ seed: -1 }, 'seed must be a non-negative integer, got -1'],
    [{ seed: 1.5 }, 'seed must be a non-negative integer, got 1.5'],
    [{ confidence: 1 }, 'confidence must be between 0 and 1, got 1'],
    [{ draws: 'some' as 'rows' }, 'draws must be one of auto, rows, categories, got some'],
  ])('refuses options %j', (bad, error) => {
    expect(bootstrapMetric('accuracy', data.truth, data.c, data.b, { ...OPTIONS, ...bad })).toEqual({ ok: false, error });
  });

  it('refuses models on different holdouts or metrics, naming the model with bad outputs', () => {
    const short = { task: 'classification' as const, classes: ['no', 'yes'], labels: Array.from(data.truth.labels).slice(0, 10) };
    const c = valueOf(metricStatistics('accuracy', data.truth, data.c));
    const b = valueOf(metricStatistics('accuracy', short, { predicted: data.b.predicted.subarray(0, 10) }));
    const f = valueOf(metricStatistics('f1_macro', data.truth, data.b));
    expect(pairedBootstrap(c, b, OPTIONS)).toEqual({ ok: false, error: 'candidate has 300 rows, baseline 10: not the same holdout' });
    expect(pairedBootstrap(c, f, OPTIONS)).toEqual({ ok: false, error: 'cannot pair accuracy with f1_macro' });
    expect(bootstrapMetric('accuracy', data.truth, data.c, { predicted: data.b.predicted.subarray(1) }, OPTIONS))
      .toEqual({ ok: false, error: 'baseline: 299 predicted labels for 300 holdout rows' });
  });

  it('refuses roc_auc when most resamples draw one class only', () => {
    const truth: ClassificationTruth = { task: 'classification', classes: ['no', 'yes'], labels: [0, 1] };
    const m = { probabilities: [0.7, 0.3, 0.2, 0.8] };
    expect(bootstrapMetric('roc_auc', truth, m, m, { resamples: 101, seed: 4, confidence: 0.9 })).toMatchObject({
      ok: false, error: expect.stringMatching(/^roc_auc is undefined in \d+ of 101 resamples \(they drew rows of one class only\)/),
    });
  });
});

describe('exact McNemar test', () => {
  it.each(fixtures.mcnemar.binomial.map((b) => [b.successes, b.trials, b.pValue]))('%s of %s discordant: p = %s (scipy binomtest)', (k, n, p) => {
    expectClose(binomialTwoSidedHalf(k!, n!), p!, 1e-9, 1e-300);
  });
  it('counts the discordant rows of two models against the labels', () => {
    const r = fixtures.mcnemar.rows;
    expect(valueOf(mcnemarExact(r.labels, r.candidate, r.baseline, r.classes))).toEqual({
      candidateOnly: r.candidateOnly, baselineOnly: r.baselineOnly, pValue: expect.closeTo(r.pValue, 12),
    });
  });
  it('names the model with a bad prediction', () => {
    expect(mcnemarExact([0, 1], [0, 1], [0, 3], 2)).toEqual({ ok: false, error: 'baseline: predicted label at row 1 is 3, not a class index 0..1' });
  });
});
