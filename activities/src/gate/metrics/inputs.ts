import { fail, ok, type Outcome } from './outcome.ts';

// The data a metric is computed from, and the checks that turn untrusted arrays
// into arrays the kernels may index without looking again.

/** Holdout truth of a classification task: class names in index order, a class index per row. */
export interface ClassificationTruth {
  task: 'classification';
  classes: readonly string[];
  labels: ArrayLike<number>;
}

/** A classifier's outputs on the holdout rows. */
export interface ClassificationOutputs {
  /** Predicted class index per row. */
  predicted?: ArrayLike<number>;
  /** rows x classes, row-major. */
  probabilities?: ArrayLike<number>;
  /**
   * The probabilities' element type; log_loss clips to [eps, 1 - eps] with eps of
   * this type, as scikit-learn does with the array's dtype. Default: FP32 for a
   * Float32Array, else FP64.
   */
  probabilityDtype?: 'FP32' | 'FP64';
}

/** Holdout truth of a regression task. */
export interface RegressionTruth {
  task: 'regression';
  targets: ArrayLike<number>;
}

export interface RegressionOutputs {
  predictions: ArrayLike<number>;
}

export type Truth = ClassificationTruth | RegressionTruth;
export type Outputs = ClassificationOutputs | RegressionOutputs;

const describe = (v: unknown): string => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

/** Class indexes 0..k-1, one per row; `what` names them in errors ("label", "predicted label"). */
export function classIndexes(values: ArrayLike<number>, k: number, rows: number, what: string): Outcome<Int32Array> {
  if (values.length !== rows) return fail(`${values.length} ${what}s for ${rows} holdout rows`);
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return fail(`NaN ${what} at row ${i}`);
    if (!Number.isInteger(v) || v < 0 || v >= k) return fail(`${what} at row ${i} is ${describe(v)}, not a class index 0..${k - 1}`);
    out[i] = v;
  }
  return ok(out);
}

/** Finite numbers, one per row, as float64. */
export function finiteValues(values: ArrayLike<number>, rows: number, what: string): Outcome<Float64Array> {
  if (values.length !== rows) return fail(`${values.length} ${what}s for ${rows} holdout rows`);
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const v = values[i]!;
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`${describe(v)} ${what} at row ${i}`);
    out[i] = v;
  }
  return ok(out);
}

/** rows x k probabilities, each in [0, 1] (scikit-learn refuses anything else). Sums are the checks' concern. */
export function probabilityMatrix(probs: ArrayLike<number> | undefined, rows: number, k: number, metric: string): Outcome<ArrayLike<number>> {
  if (!probs) return fail(`${metric} needs probabilities`);
  if (probs.length !== rows * k) return fail(`${metric}: ${probs.length} probabilities for ${rows} rows x ${k} classes`);
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    const at = `row ${Math.floor(i / k)}, class ${i % k}`;
    if (Number.isNaN(p)) return fail(`NaN probability at ${at}`);
    if (!(p >= 0 && p <= 1)) return fail(`probability ${p} at ${at} is outside [0, 1]`);
  }
  return ok(probs);
}

/** Machine epsilon of the probabilities' type (numpy's finfo(dtype).eps). */
export function probabilityEps(outputs: ClassificationOutputs): number {
  const dtype = outputs.probabilityDtype ?? (outputs.probabilities instanceof Float32Array ? 'FP32' : 'FP64');
  return dtype === 'FP32' ? 2 ** -23 : Number.EPSILON;
}
