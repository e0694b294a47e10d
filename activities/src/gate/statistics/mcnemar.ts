import { classIndexes } from '../metrics/inputs.ts';
import { fail, ok, type Outcome } from '../metrics/outcome.ts';

// Exact McNemar test for paired accuracy: only the rows where exactly one model
// is right carry information; under "equally accurate" each of those is the
// candidate's with probability 1/2, so the p-value is a two-sided exact
// binomial test (scipy.stats.binomtest(k, n, 0.5)).

export interface McNemarResult {
  /** Rows the candidate gets right and the baseline wrong. */
  candidateOnly: number;
  /** Rows the baseline gets right and the candidate wrong. */
  baselineOnly: number;
  /** Two-sided exact p-value; 1 when the models never disagree on correctness. */
  pValue: number;
}

/**
 * P(X <= k or X >= n - k) for X ~ Binomial(n, 1/2), k = min(b, n - b), capped at 1.
 * pmf(k) comes from a sum of logs (no factorials, no overflow), the tail from
 * pmf(j - 1) = pmf(j) j / (n - j + 1), summed from k down until terms vanish.
 */
export function binomialTwoSidedHalf(successes: number, trials: number): number {
  const n = trials;
  const k = Math.min(successes, n - successes);
  if (n === 0 || 2 * k === n) return 1;
  let logPmf = -n * Math.LN2;
  for (let j = 1; j <= k; j++) logPmf += Math.log((n - k + j) / j);
  let term = 1;
  let tail = 1;
  for (let j = k; j > 0; j--) {
    term *= j / (n - j + 1);
    tail += term;
    if (term < tail * 1e-17) break;
  }
  return Math.min(1, 2 * Math.exp(logPmf) * tail);
}

/** The exact McNemar test of candidate vs baseline predictions against the holdout labels (classes: k). */
export function mcnemarExact(
  labels: ArrayLike<number>, candidate: ArrayLike<number>, baseline: ArrayLike<number>, classes: number,
): Outcome<McNemarResult> {
  const rows = labels.length;
  const y = classIndexes(labels, classes, rows, 'label');
  if (!y.ok) return y;
  const c = classIndexes(candidate, classes, rows, 'predicted label');
  if (!c.ok) return fail(`candidate: ${c.error}`);
  const b = classIndexes(baseline, classes, rows, 'predicted label');
  if (!b.ok) return fail(`baseline: ${b.error}`);
  let candidateOnly = 0;
  let baselineOnly = 0;
  for (let i = 0; i < rows; i++) {
    const cr = c.value[i] === y.value[i];
    const br = b.value[i] === y.value[i];
    if (cr && !br) candidateOnly++;
    else if (br && !cr) baselineOnly++;
  }
  return ok({ candidateOnly, baselineOnly, pValue: binomialTwoSidedHalf(candidateOnly, candidateOnly + baselineOnly) });
}
