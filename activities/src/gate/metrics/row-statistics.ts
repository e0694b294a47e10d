import type { GateMetric } from '@cd4ml/contracts';

// Every metric is reduced once to per-row sufficient statistics; a bootstrap
// resample is then only a vector of row weights (how often each row was drawn)
// and finalizing costs one pass over the weights, without copying any rows.
// Three shapes cover the gate's metrics:
//   columns:   a function of weighted sums of per-row values (accuracy, log_loss, mae, rmse, r2)
//   confusion: a function of the weighted confusion table (balanced_accuracy, f1_macro)
//   ranked:    rows sorted by score once, a weighted prefix sum per resample (roc_auc)

/** How often each holdout row counts: a resample's draw counts. */
export type Counts = Int32Array;

export interface ColumnStatistics {
  kind: 'columns';
  metric: GateMetric;
  rows: number;
  /** Per-row values; a column that only depends on the truth is the same array for every model. */
  columns: readonly Float64Array[];
  /** True when the metric is sums[0] / total, so two models' difference can be taken row by row. */
  mean: boolean;
  /**
   * True when every per-row value is 0 or 1 (accuracy's right or wrong): a
   * resample's sums then depend only on how many rows of each kind it drew.
   */
  indicator?: boolean;
  /** The metric from the column sums weighted by the counts; NaN where it is undefined. */
  finalize(sums: ArrayLike<number>, total: number): number;
}

export interface ConfusionStatistics {
  kind: 'confusion';
  metric: GateMetric;
  rows: number;
  classes: number;
  /** truth x classes + predicted, per row. */
  cells: Int32Array;
  /** The metric from the weighted confusion table (rows: truth, columns: prediction). */
  finalize(table: Float64Array): number;
}

export interface RankStatistics {
  kind: 'ranked';
  metric: GateMetric;
  rows: number;
  /** Row indexes by descending score. */
  order: Int32Array;
  /** 1 where the row at that sorted position is of the positive class, else 0. */
  positive: Float64Array;
  /** Runs of two or more equal scores in sorted order, as start, end (exclusive) pairs; empty when no scores tie. */
  ties: Int32Array;
}

export type RowStatistics = ColumnStatistics | ConfusionStatistics | RankStatistics;

/** Every row once: the weights of the holdout as it is. */
export const unitCounts = (rows: number): Counts => new Int32Array(rows).fill(1);

export function totalWeight(counts: Counts): number {
  let t = 0;
  for (let i = 0; i < counts.length; i++) t += counts[i]!;
  return t;
}

// Two accumulators per column so consecutive additions do not wait on each other.
function sum1(w: Counts, x: Float64Array): number {
  const n = w.length;
  let a = 0;
  let b = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    a += w[i]! * x[i]!;
    b += w[i + 1]! * x[i + 1]!;
  }
  if (i < n) a += w[i]! * x[i]!;
  return a + b;
}

function sum2(w: Counts, x: Float64Array, y: Float64Array, out: Float64Array, at: number): void {
  const n = w.length;
  let a0 = 0;
  let a1 = 0;
  let b0 = 0;
  let b1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const w0 = w[i]!;
    const w1 = w[i + 1]!;
    a0 += w0 * x[i]!;
    b0 += w0 * y[i]!;
    a1 += w1 * x[i + 1]!;
    b1 += w1 * y[i + 1]!;
  }
  if (i < n) {
    a0 += w[i]! * x[i]!;
    b0 += w[i]! * y[i]!;
  }
  out[at] = a0 + a1;
  out[at + 1] = b0 + b1;
}

/** out[j] = sum_i counts[i] * columns[j][i], two columns per pass. */
export function weightedColumnSums(counts: Counts, columns: readonly Float64Array[], out: Float64Array): void {
  let j = 0;
  for (; j + 1 < columns.length; j += 2) sum2(counts, columns[j]!, columns[j + 1]!, out, j);
  if (j < columns.length) out[j] = sum1(counts, columns[j]!);
}

/** Scratch space weightedCells wants for a table of `size` cells. */
export const cellScratchSize = (size: number): number => (size <= 1024 ? 4 * size : 0);

/**
 * out[cell] = total weight of the rows in that cell. Consecutive rows mostly
 * fall in the same few cells (the diagonal), so for small tables four
 * interleaved copies (`scratch`, cellScratchSize long) keep each addition from
 * waiting on the last; large tables would cost more to clear than that saves.
 */
export function weightedCells(counts: Counts, cells: Int32Array, out: Float64Array, scratch: Float64Array): void {
  const size = out.length;
  const n = cells.length;
  if (scratch.length < 4 * size) {
    out.fill(0);
    for (let i = 0; i < n; i++) out[cells[i]!]! += counts[i]!;
    return;
  }
  scratch.fill(0);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    scratch[cells[i]!]! += counts[i]!;
    scratch[size + cells[i + 1]!]! += counts[i + 1]!;
    scratch[2 * size + cells[i + 2]!]! += counts[i + 2]!;
    scratch[3 * size + cells[i + 3]!]! += counts[i + 3]!;
  }
  for (; i < n; i++) scratch[cells[i]!]! += counts[i]!;
  for (let c = 0; c < size; c++) out[c] = scratch[c]! + scratch[size + c]! + scratch[2 * size + c]! + scratch[3 * size + c]!;
}
