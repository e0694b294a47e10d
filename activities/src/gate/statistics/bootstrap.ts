import type { GateMetric } from '@cd4ml/contracts';
import { metricStatistics, weightedMetric, type Outputs, type RowStatistics, type Truth } from '../metrics/index.ts';
import { fail, ok, type Outcome } from '../metrics/outcome.ts';
import { differenceKernel, type DifferenceKernel } from './paired-difference.ts';
import { sortedQuantile } from './percentile.ts';
import { drawCounts, sumOverDraws } from './resample-counts.ts';
import { MAX_INDEX_RANGE, Xoshiro128 } from './xoshiro128.ts';

// Seeded paired bootstrap of metric(candidate) - metric(baseline) over the
// holdout rows: each resample draws rows with replacement once and scores both
// models on that same draw, so what the models share (hard rows, easy rows)
// cancels out of the difference. The interval is the percentile interval.

export interface BootstrapOptions {
  resamples: number;
  seed: number;
  /** Two-sided level of the interval, e.g. 0.95. */
  confidence: number;
}

export interface PairedInterval {
  metric: GateMetric;
  /** The metric of each model on the holdout as it is. */
  candidate: number;
  baseline: number;
  /** candidate - baseline on the holdout as it is (not oriented: for a lower-is-better metric negative is better). */
  difference: number;
  /** Percentile interval of the resampled differences at `confidence`. */
  lo: number;
  hi: number;
  confidence: number;
  resamples: number;
  rows: number;
  seed: number;
  /** Resamples in which the metric was undefined (roc_auc that drew one class only), left out of the interval. */
  undefinedResamples: number;
}

function optionsProblem(o: BootstrapOptions, rows: number): string | null {
  if (!Number.isInteger(o.resamples) || o.resamples < 1) return `resamples must be a positive integer, got ${o.resamples}`;
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) return `seed must be a non-negative integer, got ${o.seed}`;
  if (!(o.confidence > 0 && o.confidence < 1)) return `confidence must be between 0 and 1, got ${o.confidence}`;
  if (rows < 1) return 'the holdout has no rows';
  if (rows > MAX_INDEX_RANGE) return `the bootstrap takes at most ${MAX_INDEX_RANGE} rows, the holdout has ${rows}`;
  return null;
}

export interface StatisticsPair {
  candidate: RowStatistics;
  baseline: RowStatistics;
}

function intervalOf(pair: StatisticsPair, differences: Float64Array, defined: number, options: BootstrapOptions): Outcome<PairedInterval> {
  const { candidate, baseline } = pair;
  const undefinedResamples = options.resamples - defined;
  if (defined < options.resamples / 2) {
    return fail(`${candidate.metric} is undefined in ${undefinedResamples} of ${options.resamples} resamples ` +
      '(they drew rows of one class only): the holdout has too few rows of a class for an interval');
  }
  const sorted = differences.subarray(0, defined).sort();
  const alpha = (1 - options.confidence) / 2;
  const c = weightedMetric(candidate);
  const b = weightedMetric(baseline);
  return ok({
    metric: candidate.metric, candidate: c, baseline: b, difference: c - b,
    lo: sortedQuantile(sorted, alpha), hi: sortedQuantile(sorted, 1 - alpha),
    confidence: options.confidence, resamples: options.resamples, rows: candidate.rows, seed: options.seed, undefinedResamples,
  });
}

/**
 * Paired bootstrap intervals of several metrics on the same resamples: drawing
 * the resamples is most of the work, so this costs little more than the
 * slowest metric alone. The resamples are pairedBootstrap's for the same seed,
 * so each interval is the one pairedBootstrap gives, up to the order in which a
 * mean metric's differences are summed (pairedBootstrap alone sums them off the
 * draws, here they are summed from the shared counts).
 */
export function pairedBootstrapAll(pairs: readonly StatisticsPair[], options: BootstrapOptions): Outcome<PairedInterval>[] {
  const rows = pairs[0]?.candidate.rows ?? 0;
  const problem = optionsProblem(options, rows);
  if (problem) return pairs.map(() => fail(problem));
  const kernels = pairs.map(({ candidate, baseline }) => (candidate.rows === rows
    ? differenceKernel(candidate, baseline)
    : `${candidate.metric} is on ${candidate.rows} rows, the first metric on ${rows}: not the same holdout`));
  const differences = pairs.map(() => new Float64Array(options.resamples));
  const defined = pairs.map(() => 0);
  const rng = new Xoshiro128(options.seed);
  const live = kernels.filter((k): k is DifferenceKernel => typeof k !== 'string');
  // A lone mean metric sums its differences straight off the draws; otherwise all share one set of counts.
  const perDraw = live.length === 1 ? live[0]!.perDraw : undefined;
  const counts = new Int32Array(perDraw ? 0 : rows);
  for (let r = 0; r < options.resamples; r++) {
    if (perDraw) {
      const m = kernels.indexOf(live[0]!);
      differences[m]![defined[m]!++] = sumOverDraws(rng, perDraw) / rows;
      continue;
    }
    drawCounts(rng, counts);
    for (let m = 0; m < kernels.length; m++) {
      const kernel = kernels[m]!;
      if (typeof kernel === 'string') continue;
      const d = kernel.fromCounts(counts);
      if (!Number.isNaN(d)) differences[m]![defined[m]!++] = d;
    }
  }
  return pairs.map((pair, m) => {
    const kernel = kernels[m]!;
    return typeof kernel === 'string' ? fail(kernel) : intervalOf(pair, differences[m]!, defined[m]!, options);
  });
}

/** The paired bootstrap interval of the difference between two models' statistics on the same holdout rows. */
export function pairedBootstrap(candidate: RowStatistics, baseline: RowStatistics, options: BootstrapOptions): Outcome<PairedInterval> {
  return pairedBootstrapAll([{ candidate, baseline }], options)[0]!;
}

/** metricStatistics for both models, then pairedBootstrap; errors name the model whose outputs are wrong. */
export function bootstrapMetric(
  metric: GateMetric, truth: Truth, candidate: Outputs, baseline: Outputs, options: BootstrapOptions,
): Outcome<PairedInterval> {
  const c = metricStatistics(metric, truth, candidate);
  if (!c.ok) return fail(`candidate: ${c.error}`);
  const b = metricStatistics(metric, truth, baseline);
  if (!b.ok) return fail(`baseline: ${b.error}`);
  return pairedBootstrap(c.value, b.value, options);
}
