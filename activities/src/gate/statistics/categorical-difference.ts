import type { ColumnStatistics, ConfusionStatistics } from '../metrics/index.ts';
import { multinomialOf, type Multinomial } from './multinomial.ts';
import { rowCategories } from './row-categories.ts';

// Difference kernels for metrics whose value on a resample depends only on how
// many rows of each category it drew. The paired row bootstrap's category
// counts are then exactly a Multinomial(rows; category sizes / rows) draw, so a
// resample costs one binomial per category instead of one uniform per row.

export interface CategoricalKernel {
  /** The holdout's categories, largest first. */
  multinomial: Multinomial;
  /** The category of each holdout row: a row resample's counts summed by category are the counts this kernel scores. */
  categoryOf: Int32Array;
  /** metric(candidate) - metric(baseline) for a resample's category counts (multinomial order); NaN where undefined. */
  fromCategoryCounts(counts: Int32Array): number;
}

/**
 * Accuracy: a row counts +1 where only the candidate is right, -1 where only
 * the baseline is, 0 where they agree (both right or both wrong: one category,
 * since only the difference matters), so the difference is
 * (N_candidateOnly - N_baselineOnly) / rows.
 */
export function indicatorCategories(c: ColumnStatistics, b: ColumnStatistics): CategoricalKernel {
  const x = c.columns[0]!;
  const y = b.columns[0]!;
  const keys = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) keys[i] = x[i]! - y[i]! + 1;
  const { keys: found, sizes, categoryOf } = rowCategories(keys, 3);
  const value = found.map((key) => key - 1);
  const rows = c.rows;
  return {
    multinomial: multinomialOf(sizes),
    categoryOf,
    fromCategoryCounts: (counts) => {
      let s = 0;
      for (let j = 0; j < value.length; j++) s += value[j]! * counts[j]!;
      return s / rows;
    },
  };
}

/**
 * balanced_accuracy, f1_macro: a row's category is its cell (truth, candidate's
 * prediction, baseline's prediction) of k^3; a resample's two confusion tables
 * are sums of its category counts, finalized as the row path does, so classes
 * a resample did not draw drop out the same way. Undefined (the row path only)
 * for statistics that do not share the truth row by row.
 */
export function confusionCategories(c: ConfusionStatistics, b: ConfusionStatistics): CategoricalKernel | undefined {
  const k = c.classes;
  const keys = new Float64Array(c.rows);
  // cells are truth * k + prediction: the key is (truth * k + candidate's) * k + baseline's.
  for (let i = 0; i < keys.length; i++) {
    if (Math.floor(c.cells[i]! / k) !== Math.floor(b.cells[i]! / k)) return undefined;
    keys[i] = c.cells[i]! * k + (b.cells[i]! % k);
  }
  const { keys: found, sizes, categoryOf } = rowCategories(keys, k * k * k);
  const cCell = Int32Array.from(found, (key) => Math.floor(key / k));
  const bCell = Int32Array.from(found, (key) => Math.floor(key / (k * k)) * k + (key % k));
  const tc = new Float64Array(k * k);
  const tb = new Float64Array(k * k);
  return {
    multinomial: multinomialOf(sizes),
    categoryOf,
    fromCategoryCounts: (counts) => {
      tc.fill(0);
      tb.fill(0);
      for (let j = 0; j < cCell.length; j++) {
        tc[cCell[j]!]! += counts[j]!;
        tb[bCell[j]!]! += counts[j]!;
      }
      return c.finalize(tc) - b.finalize(tb);
    },
  };
}
