import type { RegressionMetric } from '@cd4ml/contracts';
import { finiteValues, type RegressionOutputs, type RegressionTruth } from './inputs.ts';
import { fail, ok, type Outcome } from './outcome.ts';
import type { ColumnStatistics } from './row-statistics.ts';

// rmse, mae and r2 as weighted sums of per-row values. r2's total sum of
// squares comes from sums of y and y^2, which loses every digit the targets'
// mean shares with their spread (targets near 1e6 with spread 1); centring the
// targets on their holdout mean first keeps it as exact as a two-pass formula.

interface PreparedTargets {
  y: Float64Array;
  /** y - mean(y), and its square: the same arrays for every model on this truth. */
  centred: Float64Array;
  centredSquared: Float64Array;
  constant: boolean;
}

// Keyed on the truth's targets array, so candidate and baseline share the truth columns.
const prepared = new WeakMap<object, PreparedTargets>();

function prepareTargets(truth: RegressionTruth): Outcome<PreparedTargets> {
  const key = truth.targets as object;
  const cached = prepared.get(key);
  if (cached) return ok(cached);
  const y = finiteValues(truth.targets, truth.targets.length, 'target');
  if (!y.ok) return y;
  const n = y.value.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y.value[i]!;
  mean /= n;
  const centred = new Float64Array(n);
  const centredSquared = new Float64Array(n);
  let constant = true;
  for (let i = 0; i < n; i++) {
    centred[i] = y.value[i]! - mean;
    centredSquared[i] = centred[i]! * centred[i]!;
    constant &&= y.value[i] === y.value[0];
  }
  const value = { y: y.value, centred, centredSquared, constant };
  prepared.set(key, value);
  return ok(value);
}

const sqrtMean = (sums: ArrayLike<number>, total: number): number => (total > 0 ? Math.sqrt(sums[0]! / total) : NaN);
const mean = (sums: ArrayLike<number>, total: number): number => (total > 0 ? sums[0]! / total : NaN);

/**
 * 1 - SS_res / SS_tot with sklearn's force_finite: perfect predictions score 1,
 * constant targets with imperfect predictions score 0. A resample of a
 * non-constant holdout that drew one target value only has SS_tot at rounding
 * level; below 1e-12 of the sum of squares it counts as constant.
 */
function r2Finalizer(constant: boolean) {
  return (sums: ArrayLike<number>, total: number): number => {
    if (total < 2) return NaN;
    const [s, ss, residual] = [sums[0]!, sums[1]!, sums[2]!];
    const tot = constant ? 0 : ss - (s * s) / total;
    if (residual === 0) return 1;
    if (tot <= 1e-12 * ss) return 0;
    return 1 - residual / tot;
  };
}

export function regressionStatistics(metric: RegressionMetric, truth: RegressionTruth, outputs: RegressionOutputs): Outcome<ColumnStatistics> {
  const targets = prepareTargets(truth);
  if (!targets.ok) return targets;
  const { y, centred, centredSquared, constant } = targets.value;
  const rows = y.length;
  if (metric === 'r2' && rows < 2) return fail(`r2 needs at least 2 rows, holdout has ${rows}`);
  const p = finiteValues(outputs.predictions, rows, 'prediction');
  if (!p.ok) return p;
  const residual = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = y[i]! - p.value[i]!;
    residual[i] = metric === 'mae' ? Math.abs(r) : r * r;
  }
  if (metric === 'mae') return ok({ kind: 'columns', metric, rows, columns: [residual], mean: true, finalize: mean });
  if (metric === 'rmse') return ok({ kind: 'columns', metric, rows, columns: [residual], mean: false, finalize: sqrtMean });
  return ok({ kind: 'columns', metric, rows, columns: [centred, centredSquared, residual], mean: false, finalize: r2Finalizer(constant) });
}
