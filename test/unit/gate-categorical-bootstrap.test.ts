import { describe, expect, it } from 'vitest';
import type { ClassificationTruth } from '@cd4ml/activities/gate/metrics/index';
import { metricStatistics } from '@cd4ml/activities/gate/metrics/index';
import {
  BINOMIAL_COST_IN_ROWS, categoryDifferences, differenceKernel, drawCounts, multinomialOf, pairedBootstrap, rowDifferences, sortedQuantile, Xoshiro128,
  type CategoricalKernel, type DifferenceKernel, type Resampled,
} from '@cd4ml/activities/gate/statistics/index';
import { valueOf } from '../fixtures/gate/sklearn-metrics.ts';

// The categorical path of the paired bootstrap (accuracy, balanced_accuracy,
// f1_macro) against the row path, which gate-bootstrap.test.ts holds to
// scikit-learn: the same score for the same category counts, and the same
// distribution of resampled differences.

const METRICS = ['accuracy', 'balanced_accuracy', 'f1_macro'] as const;

/**
 * A 3-class holdout (class 2 rare) and two correlated classifiers: each right
 * with its own probability, mostly on the same rows; a wrong prediction is another class at random.
 */
function threeClasses(seed: number, rows: number) {
  const g = new Xoshiro128(seed);
  const labels = new Int32Array(rows);
  const c = new Int32Array(rows);
  const b = new Int32Array(rows);
  const wrong = (label: number): number => (label + 1 + g.nextBelow(2)) % 3;
  for (let i = 0; i < rows; i++) {
    const u = g.nextDouble();
    labels[i] = u < 0.55 ? 0 : u < 0.96 ? 1 : 2;
    const shared = g.nextDouble();
    c[i] = shared < 0.82 ? labels[i]! : wrong(labels[i]!);
    b[i] = (g.nextDouble() < 0.85 ? shared : g.nextDouble()) < 0.76 ? labels[i]! : wrong(labels[i]!);
  }
  const truth: ClassificationTruth = { task: 'classification', classes: ['a', 'b', 'c'], labels };
  return { truth, c: { predicted: c }, b: { predicted: b } };
}

type Data = ReturnType<typeof threeClasses>;

function statsOf(metric: (typeof METRICS)[number], data: Data) {
  return [valueOf(metricStatistics(metric, data.truth, data.c)), valueOf(metricStatistics(metric, data.truth, data.b))] as const;
}

function kernelOf(metric: (typeof METRICS)[number], data: Data): { kernel: DifferenceKernel; categorical: CategoricalKernel } {
  const kernel = differenceKernel(...statsOf(metric, data));
  if (typeof kernel === 'string' || !kernel.categorical) return expect.fail(`${metric} has no categorical kernel`);
  return { kernel, categorical: kernel.categorical };
}

/** The row counts summed by category. */
function byCategory(categorical: CategoricalKernel, rowCounts: Int32Array): Int32Array {
  const counts = new Int32Array(categorical.multinomial.sizes.length);
  rowCounts.forEach((n, i) => { counts[categorical.categoryOf[i]!]! += n; });
  return counts;
}

/** Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical cdfs (ties stepped over together). */
function ksStatistic(a: Float64Array, b: Float64Array): number {
  let [i, j, gap] = [0, 0, 0];
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    gap = Math.max(gap, Math.abs(i / a.length - j / b.length));
  }
  return gap;
}

const sortedOf = (r: Resampled): Float64Array => r.differences.slice(0, r.defined).sort();

/** The q-quantile's Monte Carlo standard error from the order statistics one binomial sd either side of it. */
function quantileError(sorted: Float64Array, q: number): number {
  const d = Math.sqrt(q * (1 - q) / sorted.length);
  return (sortedQuantile(sorted, Math.min(1, q + d)) - sortedQuantile(sorted, Math.max(0, q - d))) / 2;
}

describe('categorical paired bootstrap', () => {
  describe('scores category counts exactly as the row kernel scores the rows behind them', () => {
    // 60 rows with class 2 rare, so many resamples draw none of it: such a class drops out on both paths.
    const data = threeClasses(4, 60);
    it.each(METRICS)('%s', (metric) => {
      const { kernel, categorical } = kernelOf(metric, data);
      expect(byCategory(categorical, new Int32Array(60).fill(1))).toEqual(categorical.multinomial.sizes);
      const rng = new Xoshiro128(6);
      const rowCounts = new Int32Array(60);
      let missingRare = 0;
      for (let r = 0; r < 300; r++) {
        drawCounts(rng, rowCounts);
        if (rowCounts.every((n, i) => n === 0 || data.truth.labels[i] !== 2)) missingRare++;
        expect(categorical.fromCategoryCounts(byCategory(categorical, rowCounts))).toBe(kernel.fromCounts(rowCounts));
      }
      expect(missingRare).toBeGreaterThan(10);
    });
  });

  describe('draws the row bootstrap\'s distribution of differences (20000 resamples each)', () => {
    const data = threeClasses(12, 1200);
    const resamples = 20_000;
    // Two-sample KS at the 0.1% level for equal sizes (conservative where the differences tie).
    const critical = 1.949 * Math.sqrt(2 / resamples);
    it.each(METRICS)('%s: KS within 0.1%, lo and hi within 4 Monte Carlo errors; a multinomial 3 rows off is told apart', (metric) => {
      const { kernel, categorical } = kernelOf(metric, data);
      const rows = sortedOf(rowDifferences([kernel], 1200, resamples, 3)[0]!);
      const drawn = categoryDifferences(categorical, 1200, resamples, 3);
      expect([drawn.defined, rows.length]).toEqual([resamples, resamples]);
      const categories = sortedOf(drawn);
      expect(ksStatistic(rows, categories)).toBeLessThan(critical);
      for (const q of [0.025, 0.975]) {
        const error = Math.hypot(quantileError(rows, q), quantileError(categories, q));
        expect(Math.abs(sortedQuantile(rows, q) - sortedQuantile(categories, q))).toBeLessThanOrEqual(4 * error + 1 / 1200);
      }
      // The interval pairedBootstrap reports is this draw's.
      const interval = valueOf(pairedBootstrap(...statsOf(metric, data), { resamples, seed: 3, confidence: 0.95, draws: 'categories' }));
      expect([interval.lo, interval.hi]).toEqual([sortedQuantile(categories, 0.025), sortedQuantile(categories, 0.975)]);
      // Negative control: 3 of the 1200 rows moved from the largest category to the smallest.
      const sizes = categorical.multinomial.sizes.slice();
      sizes[0]! -= 3;
      sizes[sizes.length - 1]! += 3;
      const off = categoryDifferences({ ...categorical, multinomial: multinomialOf(sizes) }, 1200, resamples, 3);
      expect(ksStatistic(rows, sortedOf(off))).toBeGreaterThan(critical);
    });
  });

  it.each(METRICS)('%s: same seed, same interval; another seed, another interval', (metric) => {
    const data = threeClasses(8, 500);
    const options = { resamples: 1000, seed: 1, confidence: 0.95, draws: 'categories' } as const;
    const a = valueOf(pairedBootstrap(...statsOf(metric, data), options));
    expect(valueOf(pairedBootstrap(...statsOf(metric, data), options))).toEqual(a);
    const other = valueOf(pairedBootstrap(...statsOf(metric, data), { ...options, seed: 2 }));
    expect(other.difference).toBe(a.difference);
    expect([other.lo, other.hi]).not.toEqual([a.lo, a.hi]);
  });

  it('auto draws category counts where (categories - 1) binomials cost less than the rows', () => {
    const interval = (data: Data, draws: 'auto' | 'rows' | 'categories') =>
      valueOf(pairedBootstrap(...statsOf('f1_macro', data), { resamples: 200, seed: 1, confidence: 0.95, draws }));
    const small = threeClasses(5, 60);
    const large = threeClasses(5, 27 * BINOMIAL_COST_IN_ROWS);
    expect(kernelOf('f1_macro', small).categorical.multinomial.sizes.length - 1).toBeGreaterThan(60 / BINOMIAL_COST_IN_ROWS);
    expect(interval(small, 'auto')).toEqual(interval(small, 'rows'));
    expect(interval(large, 'auto')).toEqual(interval(large, 'categories'));
    expect(interval(large, 'auto')).not.toEqual(interval(large, 'rows'));
  });

  it('confusion statistics on different truths keep the row path', () => {
    const data = threeClasses(6, 200);
    const [c] = statsOf('balanced_accuracy', data);
    const other = valueOf(metricStatistics('balanced_accuracy', { ...data.truth, labels: Int32Array.from(data.truth.labels, (l) => (l + 1) % 3) }, data.b));
    const kernel = differenceKernel(c, other);
    expect(typeof kernel !== 'string' && kernel.categorical).toBe(undefined);
  });

  it.each(METRICS)('%s: identical models differ by exactly 0, interval [0, 0]', (metric) => {
    const data = threeClasses(9, 300);
    const same = { ...data, b: { predicted: data.c.predicted.slice() } };
    const i = valueOf(pairedBootstrap(...statsOf(metric, same), { resamples: 500, seed: 1, confidence: 0.95, draws: 'categories' }));
    expect([i.difference, i.lo, i.hi, i.undefinedResamples]).toEqual([0, 0, 0, 0]);
  });
});
