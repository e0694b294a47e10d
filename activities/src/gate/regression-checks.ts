import type { Check } from '@cd4ml/contracts';
import { formatNumber as fmt } from '@cd4ml/onnx';
import { finiteValues } from './metrics/inputs.ts';

// Sanity checks of a regression model's holdout predictions. Like checks.ts,
// each returns a Check whose detail states the figure and the threshold, and
// bad data fails the check instead of throwing.

type Numbers = ArrayLike<number>;
const check = (name: string, passed: boolean, detail: string): Check => ({ name, passed, detail });

/** Every prediction is a finite number: NaN or Infinity would poison every metric. */
export function finitePredictionsCheck(predictions: Numbers): Check {
  const name = 'finite-predictions';
  if (predictions.length === 0) return check(name, false, 'no predictions');
  let nan = 0;
  let infinite = 0;
  let first = -1;
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i]!;
    if (Number.isFinite(p)) continue;
    if (Number.isNaN(p)) nan++;
    else infinite++;
    if (first < 0) first = i;
  }
  if (first < 0) return check(name, true, `all ${predictions.length} predictions are finite`);
  const kinds = [nan ? `${nan} NaN` : '', infinite ? `${infinite} infinite` : ''].filter(Boolean).join(', ');
  return check(name, false,
    `${nan + infinite} of ${predictions.length} predictions are not finite (${kinds}); first at row ${first}: ${predictions[first]}`);
}

/**
 * Every prediction within the training target range widened by band x its width
 * on each side: a model far outside what it was trained on is extrapolating or
 * broken. Non-finite predictions count as outside (and as the worst).
 */
export function predictionRangeCheck(predictions: Numbers, targetRange: { min: number; max: number } | undefined, band: number): Check {
  const name = 'prediction-range';
  if (!targetRange) return check(name, false, "holdout.json has no targetRange (the training targets' min and max): the range cannot be checked");
  const { min, max } = targetRange;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max)) return check(name, false, `targetRange min ${min} to max ${max} is not a range`);
  if (predictions.length === 0) return check(name, false, 'no predictions');
  const width = max - min;
  const lo = min - band * width;
  const hi = max + band * width;
  const allowed = `[${fmt(lo)}, ${fmt(hi)}] (training targets ${fmt(min)} to ${fmt(max)}, widened by ${fmt(band)} x ${fmt(width)} each side)`;
  let outside = 0;
  let worst = -1;
  let worstBy = 0;
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i]!;
    const by = Number.isNaN(p) ? Infinity : Math.max(lo - p, p - hi, 0);
    if (by === 0) continue;
    outside++;
    if (worst < 0 || by > worstBy) [worst, worstBy] = [i, by];
  }
  if (outside === 0) return check(name, true, `all ${predictions.length} predictions within ${allowed}`);
  return check(name, false,
    `${outside} of ${predictions.length} predictions outside ${allowed}; worst ${fmt(predictions[worst]!)} at row ${worst}`);
}

/**
 * |mean residual| <= tolerance x the targets' standard deviation (population,
 * ddof 0): a model that is right on average in spread but shifted is biased.
 * Residual = target - prediction, so a positive mean means predictions too low.
 */
export function residualBiasCheck(targets: Numbers, predictions: Numbers, tolerance: number): Check {
  const name = 'residual-bias';
  const rows = targets.length;
  if (rows === 0) return check(name, false, 'no holdout targets');
  const y = finiteValues(targets, rows, 'target');
  if (!y.ok) return check(name, false, `cannot compute: ${y.error}`);
  const p = finiteValues(predictions, rows, 'prediction');
  if (!p.ok) return check(name, false, `cannot compute: ${p.error}`);
  let meanY = 0;
  let meanResidual = 0;
  for (let i = 0; i < rows; i++) {
    meanY += y.value[i]!;
    meanResidual += y.value[i]! - p.value[i]!;
  }
  meanY /= rows;
  meanResidual /= rows;
  let variance = 0;
  for (let i = 0; i < rows; i++) variance += (y.value[i]! - meanY) ** 2;
  const std = Math.sqrt(variance / rows);
  const limit = tolerance * std;
  // Same boundary slack as checks.ts: float sums must not fail a bias exactly at the limit.
  const passed = Math.abs(meanResidual) <= limit + 1e-9;
  return check(name, passed,
    `mean residual (target - prediction) ${fmt(meanResidual)}: |${fmt(meanResidual)}| ${passed ? '<=' : '>'} ` +
    `${fmt(tolerance)} x std of the targets ${fmt(std)} = ${fmt(limit)}`);
}
