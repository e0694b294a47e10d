import type { Check, SmokeSet } from '@cd4ml/contracts';
import { compareOutputs, formatNumber as fmt, type OutputTensor } from '@cd4ml/onnx';

// Pure gate checks. Each returns a Check whose detail states the figure and
// the threshold, so a rejected release explains itself in the report. Bad
// figures (NaN, missing values, mismatched lengths) fail the check; nothing
// here throws.

// Float sums like 0.94 - 0.96 land a hair beyond 0.02; boundaries must pass.
const EPS = 1e-9;

const check = (name: string, passed: boolean, detail: string): Check => ({ name, passed, detail });

/** Every expected smoke output is produced, same shape; floats within tolerance, integers exactly (serving's wording too). */
export function smokeCheck(actual: readonly OutputTensor[], smoke: SmokeSet): Check {
  const { passed, detail } = compareOutputs(actual, smoke.expectedOutputs, smoke.tolerance);
  return check('smoke', passed, detail);
}

type Numbers = ArrayLike<number>;

function sizeProblem(probs: Numbers, rows: number, cols: number): string | null {
  if (rows < 1 || cols < 1) return `no probabilities (${rows} rows x ${cols} classes)`;
  if (probs.length !== rows * cols) return `${probs.length} values for ${rows} rows x ${cols} classes`;
  return null;
}

/** All probabilities in [0,1], none NaN. */
export function probabilityRangeCheck(probs: Numbers, rows: number, cols: number): Check {
  const name = 'probabilities-in-range';
  const size = sizeProblem(probs, rows, cols);
  if (size) return check(name, false, size);
  let nan = 0;
  let out = 0;
  let worstAt = -1;
  let worstBy = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    const by = Number.isNaN(p) ? Infinity : Math.max(0 - p, p - 1, 0);
    if (Number.isNaN(p)) nan++;
    else if (by > 0) out++;
    if (by > worstBy) [worstAt, worstBy] = [i, by];
  }
  if (worstAt < 0) return check(name, true, `all ${probs.length} values in [0, 1]`);
  const at = `row ${Math.floor(worstAt / cols)}, class ${worstAt % cols}`;
  const parts = [nan ? `${nan} NaN` : '', out ? `${out} outside [0, 1]` : ''].filter(Boolean).join(', ');
  return check(name, false, `${parts} of ${probs.length} values (worst ${fmt(probs[worstAt]!)} at ${at})`);
}

/** Each row sums to 1 within tolerance; the detail names the worst row. */
export function probabilitySumCheck(probs: Numbers, rows: number, cols: number, tolerance: number): Check {
  const name = 'probabilities-sum-to-one';
  const size = sizeProblem(probs, rows, cols);
  if (size) return check(name, false, size);
  let worstRow = 0;
  let worstSum = NaN;
  let worstDiff = -1;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += probs[r * cols + c]!;
    const diff = Number.isNaN(sum) ? Infinity : Math.abs(sum - 1);
    if (diff > worstDiff) [worstRow, worstSum, worstDiff] = [r, sum, diff];
  }
  const passed = worstDiff <= tolerance;
  return check(name, passed,
    `worst of ${rows} rows: row ${worstRow} sums to ${fmt(worstSum)} (|diff| ${fmt(worstDiff)} ${passed ? '<=' : '>'} tolerance ${fmt(tolerance)})`);
}

/**
 * Predicted class counts on the holdout match the true counts.
 *
 * Rule: per class c, |predicted_c - true_c| <= max(tolerance * true_c, sqrt(max(true_c, 1))).
 * The fraction alone is too strict on small holdouts: on a 13-row class 10%
 * is 1.3 rows, so a 97%-accurate model fails for two honest mistakes. Counts
 * fluctuate by about sqrt(n) from sampling alone, so that is the floor; above
 * 1/tolerance^2 rows (100 at 10%) the configured fraction takes over. A model
 * that predicts one class, or never predicts a class, still fails by far.
 */
export function classBalanceCheck(predicted: number[], labels: number[], classes: string[], tolerance: number): Check {
  const name = 'class-balance';
  if (predicted.length !== labels.length) {
    return check(name, false, `${predicted.length} predictions for ${labels.length} holdout labels`);
  }
  if (labels.length === 0) return check(name, false, 'empty holdout');
  const k = classes.length;
  const valid = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < k;
  const badPred = predicted.filter((i) => !valid(i));
  const badLabel = labels.filter((i) => !valid(i));
  if (badLabel.length) return check(name, false, `${badLabel.length} holdout labels are not class indexes 0..${k - 1} (e.g. ${badLabel[0]})`);
  const truth = new Array<number>(k).fill(0);
  const pred = new Array<number>(k).fill(0);
  for (const i of labels) truth[i]!++;
  for (const i of predicted) if (valid(i)) pred[i]!++;
  let passed = badPred.length === 0;
  const parts = classes.map((cls, c) => {
    const t = truth[c]!;
    const allowed = Math.max(tolerance * t, Math.sqrt(Math.max(t, 1)));
    const ok = Math.abs(pred[c]! - t) <= allowed + EPS;
    passed &&= ok;
    return `${cls} ${pred[c]} predicted vs ${t} true (max diff ${fmt(allowed)}${ok ? '' : ', FAIL'})`;
  });
  if (badPred.length) parts.push(`${badPred.length} predictions outside 0..${k - 1} (e.g. ${badPred[0]})`);
  return check(name, passed, parts.join('; '));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** No cross-validation fold further than maxDeviation from the median fold. Folds are numbered from 1. */
export function foldOutlierCheck(folds: number[], maxDeviation: number): Check {
  const name = 'fold-outliers';
  if (!Array.isArray(folds) || folds.length < 2) return check(name, false, `need at least 2 folds, got ${Array.isArray(folds) ? folds.length : 'none'}`);
  const nan = folds.findIndex((f) => typeof f !== 'number' || !Number.isFinite(f));
  if (nan >= 0) return check(name, false, `fold ${nan + 1} of ${folds.length} is ${folds[nan]}`);
  const med = median(folds);
  let worst = 0;
  folds.forEach((f, i) => { if (Math.abs(f - med) > Math.abs(folds[worst]! - med)) worst = i; });
  const dev = Math.abs(folds[worst]! - med);
  const passed = dev <= maxDeviation + EPS;
  return check(name, passed, passed
    ? `all ${folds.length} folds within ${fmt(dev)} of the median ${fmt(med)} (max ${fmt(maxDeviation)})`
    : `fold ${worst + 1} of ${folds.length} = ${fmt(folds[worst]!)} is ${fmt(dev)} from the median ${fmt(med)} (max ${fmt(maxDeviation)})`);
}

/**
 * The candidate is not worse than the baseline release by more than margin.
 * A baseline without the metric (e.g. the metric was renamed) passes with a
 * note: failing would block every future release with no way forward.
 */
export function baselineCheck(
  metricName: string,
  candidate: unknown,
  baseline: { tag: string; value: unknown } | null,
  higherIsBetter: boolean,
  margin: number,
): Check {
  const name = 'baseline';
  if (typeof candidate !== 'number' || !Number.isFinite(candidate)) {
    return check(name, false, candidate === undefined
      ? `${metricName} missing from the candidate's metrics`
      : `${metricName} of the candidate is ${Array.isArray(candidate) ? 'a list' : String(candidate)}, not a number`);
  }
  if (!baseline) return check(name, true, `no baseline: first model (${metricName} ${fmt(candidate)})`);
  const b = baseline.value;
  if (typeof b !== 'number' || !Number.isFinite(b)) {
    return check(name, true, `baseline ${baseline.tag} has no numeric ${metricName}: nothing to compare (candidate ${fmt(candidate)})`);
  }
  const diff = candidate - b;
  const worseBy = higherIsBetter ? -diff : diff;
  const passed = worseBy <= margin + EPS;
  const sign = diff > 0 ? '+' : '';
  const direction = higherIsBetter ? '' : ', lower is better';
  return check(name, passed,
    `${metricName} ${fmt(candidate)} vs baseline ${baseline.tag} ${fmt(b)}: ${sign}${fmt(diff)} (margin ${fmt(margin)}${direction})`);
}
