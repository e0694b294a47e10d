import {
  cellScratchSize, weightedCells, weightedColumnSums, weightedRocAuc,
  type ColumnStatistics, type ConfusionStatistics, type Counts, type RowStatistics,
} from '../metrics/index.ts';
import { confusionCategories, indicatorCategories, type CategoricalKernel } from './categorical-difference.ts';

// metric(candidate) - metric(baseline) under one resample, the two models
// sharing the resample. Kernels are chosen once per pair, so a resample costs
// one pass over the counts (two for roc_auc): mean metrics take the difference
// row by row (and can be summed straight off the draws, see sumOverDraws),
// skipping the rows where the models agree; other column metrics sum both
// models' columns in one pass, truth columns once. Accuracy, balanced_accuracy
// and f1_macro also carry a categorical kernel (categorical-difference.ts),
// which scores a resample from its category counts instead of its row counts.

export interface DifferenceKernel {
  /** The difference for a resample's counts (which sum to the holdout's rows); NaN where undefined. */
  fromCounts(counts: Counts): number;
  /**
   * Set for mean metrics: the difference is the sum over the resample's draws of
   * perDraw[row], over the rows, so a lone kernel can skip the counts.
   */
  perDraw?: Float64Array;
  /**
   * Set for metrics of one column per model (rmse): both columns, summed off the
   * draws (sumPairOverDraws), and the difference from those two sums.
   */
  perDrawPair?: { a: Float64Array; b: Float64Array; fromSums(sums: Float64Array): number };
  /** Set where the difference depends only on how many rows of each category a resample drew. */
  categorical?: CategoricalKernel;
}

function meanDifference(c: ColumnStatistics, b: ColumnStatistics): DifferenceKernel {
  const x = c.columns[0]!;
  const y = b.columns[0]!;
  const total = c.rows;
  const categorical = c.indicator && b.indicator ? indicatorCategories(c, b) : undefined;
  const delta = new Float64Array(x.length);
  let differing = 0;
  for (let i = 0; i < x.length; i++) {
    delta[i] = x[i]! - y[i]!;
    if (delta[i] !== 0) differing++;
  }
  // Past a third of the rows an indexed pass costs more than a plain one.
  if (differing > x.length / 3) {
    const columns = [delta];
    const sums = new Float64Array(1);
    return {
      perDraw: delta,
      categorical,
      fromCounts: (counts) => {
        weightedColumnSums(counts, columns, sums);
        return sums[0]! / total;
      },
    };
  }
  const rows = new Int32Array(differing);
  const d = new Float64Array(differing);
  for (let i = 0, j = 0; i < x.length; i++) {
    if (delta[i] !== 0) [rows[j], d[j++]] = [i, delta[i]!];
  }
  return {
    perDraw: delta,
    categorical,
    fromCounts: (counts) => {
      let s = 0;
      for (let j = 0; j < rows.length; j++) s += counts[rows[j]!]! * d[j]!;
      return s / total;
    },
  };
}

function columnsDifference(c: ColumnStatistics, b: ColumnStatistics): DifferenceKernel {
  const columns: Float64Array[] = [];
  const place = (col: Float64Array): number => {
    const found = columns.indexOf(col);
    return found >= 0 ? found : columns.push(col) - 1;
  };
  const cAt = c.columns.map(place);
  const bAt = b.columns.map(place);
  const sums = new Float64Array(columns.length);
  const cSums = new Float64Array(cAt.length);
  const bSums = new Float64Array(bAt.length);
  const total = c.rows;
  const fromSums = (all: Float64Array): number => {
    cAt.forEach((k, j) => { cSums[j] = all[k]!; });
    bAt.forEach((k, j) => { bSums[j] = all[k]!; });
    return c.finalize(cSums, total) - b.finalize(bSums, total);
  };
  const pair = columns.length === 2 && cAt.length === 1 && bAt.length === 1;
  return {
    fromCounts: (counts) => {
      weightedColumnSums(counts, columns, sums);
      return fromSums(sums);
    },
    ...(pair ? { perDrawPair: { a: columns[0]!, b: columns[1]!, fromSums } } : {}),
  };
}

function confusionDifference(c: ConfusionStatistics, b: ConfusionStatistics): DifferenceKernel {
  const size = c.classes * c.classes;
  const tc = new Float64Array(size);
  const tb = new Float64Array(size);
  const scratch = new Float64Array(cellScratchSize(size));
  return {
    categorical: confusionCategories(c, b),
    fromCounts: (counts) => {
      weightedCells(counts, c.cells, tc, scratch);
      weightedCells(counts, b.cells, tb, scratch);
      return c.finalize(tc) - b.finalize(tb);
    },
  };
}

/** The kernel for two models' statistics of the same metric on the same rows, or why they cannot be paired. */
export function differenceKernel(c: RowStatistics, b: RowStatistics): DifferenceKernel | string {
  if (c.metric !== b.metric) return `cannot pair ${c.metric} with ${b.metric}`;
  if (c.rows !== b.rows) return `candidate has ${c.rows} rows, baseline ${b.rows}: not the same holdout`;
  if (c.kind === 'columns' && b.kind === 'columns') return c.mean && b.mean ? meanDifference(c, b) : columnsDifference(c, b);
  if (c.kind === 'confusion' && b.kind === 'confusion') {
    if (c.classes !== b.classes) return `candidate has ${c.classes} classes, baseline ${b.classes}`;
    return confusionDifference(c, b);
  }
  if (c.kind === 'ranked' && b.kind === 'ranked') return { fromCounts: (counts) => weightedRocAuc(c, counts) - weightedRocAuc(b, counts) };
  return `cannot pair ${c.kind} statistics with ${b.kind} ones`;
}
