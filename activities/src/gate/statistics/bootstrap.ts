import type { GateMetric } from '@cd4ml/contracts';
import { metricStatistics, weightedMetric, type Outputs, type RowStatistics, type Truth } from '../metrics/index.ts';
import { fail, ok, type Outcome } from '../metrics/outcome.ts';
import type { CategoricalKernel } from './categorical-difference.ts';
import { differenceKernel, type DifferenceKernel } from './paired-difference.ts';
import { sortedQuantile } from './percentile.ts';
import { BINOMIAL_COST_IN_ROWS, categoryDifferences, rowDifferences, type Resampled } from './resample-differences.ts';
import { MAX_INDEX_RANGE } from './xoshiro128.ts';

// Seeded paired bootstrap of metric(candidate) - metric(baseline) over the
// holdout rows: each resample draws rows with replacement once and scores both
// models on that same draw, so what the models share (hard rows, easy rows)
// cancels out of the difference. The interval is the percentile interval.
// Where a metric depends only on how many rows of each category a resample
// drew (accuracy, balanced_accuracy, f1_macro), those counts are drawn as one
// multinomial instead of row by row: the same distribution, at a cost of one
// binomial per category instead of one uniform per row.

const DRAWS = ['auto', 'rows', 'categories'] as const;
/** How resamples are drawn; see BootstrapOptions.draws. */
export type Draws = (typeof DRAWS)[number];

export interface BootstrapOptions {
  resamples: number;
  seed: number;
  /** Two-sided level of the interval, e.g. 0.95. */
  confidence: number;
  /**
   * For tests and benchmarks (the gate leaves it out): 'auto' (the default)
   * draws category counts where a metric allows it and that is cheaper than
   * drawing the rows; 'rows' draws every metric row by row; 'categories' draws
   * category counts wherever a metric allows it, whatever the cost.
   */
  draws?: Draws;
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
  if (o.draws !== undefined && !DRAWS.includes(o.draws)) return `draws must be one of ${DRAWS.join(', ')}, got ${o.draws}`;
  if (rows < 1) return 'the holdout has no rows';
  if (rows > MAX_INDEX_RANGE) return `the bootstrap takes at most ${MAX_INDEX_RANGE} rows, the holdout has ${rows}`;
  return null;
}

export interface StatisticsPair {
  candidate: RowStatistics;
  baseline: RowStatistics;
}

function intervalOf(pair: StatisticsPair, { differences, defined }: Resampled, options: BootstrapOptions): Outcome<PairedInterval> {
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
 * Paired bootstrap intervals of several metrics from one seed. Metrics drawn
 * row by row (log_loss, roc_auc, rmse, mae, r2; every metric under draws:
 * 'rows'; a categorical one whose categories are too many for its path to pay)
 * share one stream of row resamples: drawing them is most of
 * the work, so this costs little more than the slowest metric alone, and a
 * metric's interval is the one pairedBootstrap gives, up to the order in which
 * a mean metric's differences are summed (alone they are summed off the draws,
 * here from the shared counts). Accuracy, balanced_accuracy and f1_macro take
 * the categorical path where it is cheaper: each draws its category counts
 * from its own multinomial seeded with the same seed, which is exactly the
 * distribution the row resamples give those counts. So "the same resamples"
 * holds among the row-drawn metrics only; every interval is still a correct,
 * seeded paired bootstrap interval, and the same alone as with other metrics.
 */
export function pairedBootstrapAll(pairs: readonly StatisticsPair[], options: BootstrapOptions): Outcome<PairedInterval>[] {
  const rows = pairs[0]?.candidate.rows ?? 0;
  const problem = optionsProblem(options, rows);
  if (problem) return pairs.map(() => fail(problem));
  const kernels = pairs.map(({ candidate, baseline }) => (candidate.rows === rows
    ? differenceKernel(candidate, baseline)
    : `${candidate.metric} is on ${candidate.rows} rows, the first metric on ${rows}: not the same holdout`));
  const { resamples, seed } = options;
  const resampled: Resampled[] = [];
  const byRows: number[] = [];
  kernels.forEach((kernel, m) => {
    if (typeof kernel === 'string') return;
    const categorical = categoricalPath(kernel, rows, options.draws ?? 'auto');
    if (categorical) resampled[m] = categoryDifferences(categorical, rows, resamples, seed);
    else byRows.push(m);
  });
  const rowKernels = byRows.map((m) => kernels[m] as DifferenceKernel);
  rowDifferences(rowKernels, rows, resamples, seed).forEach((r, j) => { resampled[byRows[j]!] = r; });
  return pairs.map((pair, m) => {
    const kernel = kernels[m]!;
    return typeof kernel === 'string' ? fail(kernel) : intervalOf(pair, resampled[m]!, options);
  });
}

/** The kernel's categorical path where `draws` allows it and, under 'auto', it costs less than drawing the rows. */
function categoricalPath(kernel: DifferenceKernel, rows: number, draws: Draws): CategoricalKernel | undefined {
  const categorical = kernel.categorical;
  if (!categorical || draws === 'rows') return undefined;
  const cheaper = (categorical.multinomial.sizes.length - 1) * BINOMIAL_COST_IN_ROWS <= rows;
  return draws === 'categories' || cheaper ? categorical : undefined;
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
