import { describe, expect, it } from 'vitest';
import { binomial, drawMultinomial, multinomialOf, Xoshiro128, type Multinomial } from '@cd4ml/activities/gate/statistics/index';

// The categorical bootstrap's samplers against exact distributions: sample
// moments within a few standard errors, and chi-square goodness of fit against
// pmfs computed here. Each sampler check is also run on a deliberately wrong
// sampler, which it must reject, so the checks are known to be able to fail.

type Sampler = (rng: Xoshiro128, n: number, p: number) => number;

/** The 99.9th percentile of chi-square with df degrees of freedom (Wilson-Hilferty; within 1% for df >= 3). */
function chiSquareCritical(df: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + 3.0902 * Math.sqrt(a)) ** 3;
}

/** Pearson's statistic with bins merged left to right until each expects at least 5. */
function chiSquare(observed: ArrayLike<number>, expected: ArrayLike<number>): { statistic: number; df: number } {
  const bins: [number, number][] = [];
  let o = 0;
  let e = 0;
  for (let i = 0; i < expected.length; i++) {
    o += observed[i]!;
    e += expected[i]!;
    if (e >= 5) {
      bins.push([o, e]);
      [o, e] = [0, 0];
    }
  }
  if (bins.length && (o > 0 || e > 0)) bins[bins.length - 1] = [bins.at(-1)![0] + o, bins.at(-1)![1] + e];
  return { statistic: bins.reduce((s, [ob, ex]) => s + (ob - ex) ** 2 / ex, 0), df: bins.length - 1 };
}

/** Binomial(n, p) probabilities of 0..n, through logs so that q^n cannot underflow. */
function binomialPmf(n: number, p: number): Float64Array {
  const logs = new Float64Array(n + 1);
  logs[0] = n * Math.log1p(-p);
  for (let k = 1; k <= n; k++) logs[k] = logs[k - 1]! + Math.log((n - k + 1) / k) + Math.log(p / (1 - p));
  return logs.map(Math.exp);
}

function binomialFit(sample: Sampler, n: number, p: number, draws: number, seed: number) {
  const rng = new Xoshiro128(seed);
  const observed = new Float64Array(n + 1);
  for (let i = 0; i < draws; i++) observed[sample(rng, n, p)]!++;
  const fit = chiSquare(observed, binomialPmf(n, p).map((q) => q * draws));
  return { ...fit, critical: chiSquareCritical(fit.df) };
}

// Inversion, inversion by symmetry, BTPE near the mode only, BTPE with its Stirling bounds, BTPE by symmetry.
const FIT_CASES: [number, number][] = [[10, 0.3], [25, 0.93], [80, 0.5], [1000, 0.3], [2000, 0.65]];

describe('binomial', () => {
  it('draws 0 for n = 0 or p = 0 and n for p = 1, without advancing the generator', () => {
    const rng = new Xoshiro128(3);
    expect([binomial(rng, 0, 0.4), binomial(rng, 50, 0), binomial(rng, 50, 1), binomial(rng, 2 ** 21, 1)]).toEqual([0, 0, 50, 2 ** 21]);
    expect(rng.nextUint32()).toBe(new Xoshiro128(3).nextUint32());
  });

  // Inversion (n p <= 30), BTPE, either by symmetry for p > 0.5, up to the bootstrap's largest n.
  it.each([
    [1, 0.5], [7, 0.2], [1000, 0.01], [1000, 0.03], [1000, 0.0301], [100, 0.5], [50, 0.97], [200, 0.8],
    [2 ** 21, 1e-6], [2 ** 21, 0.3], [2 ** 21, 0.5], [2 ** 21, 0.99], [2 ** 21, 1 - 1e-6],
  ])('Binomial(%i, %f): mean and variance within 5 standard errors of n p and n p (1 - p)', (n, p) => {
    const draws = 20_000;
    const rng = new Xoshiro128(n + Math.round(p * 1e6));
    // Sums of x - n p: sums of x^2 near 2^21 would lose the variance to rounding.
    let sum = 0;
    let sumSq = 0;
    let outside = 0;
    for (let i = 0; i < draws; i++) {
      const x = binomial(rng, n, p);
      if (!(Number.isInteger(x) && x >= 0 && x <= n)) outside++;
      sum += x - n * p;
      sumSq += (x - n * p) ** 2;
    }
    const variance = n * p * (1 - p);
    const offset = sum / draws;
    const sampleVariance = (sumSq - draws * offset * offset) / (draws - 1);
    // The sample variance's standard error, with the binomial's excess kurtosis (1 - 6 p q) / (n p q).
    const kurtosis = (1 - 6 * p * (1 - p)) / variance;
    expect(outside).toBe(0);
    expect(Math.abs(offset)).toBeLessThan(5 * Math.sqrt(variance / draws));
    expect(Math.abs(sampleVariance - variance)).toBeLessThan(5 * variance * Math.sqrt(2 / (draws - 1) + kurtosis / draws));
  });

  it.each(FIT_CASES)('Binomial(%i, %f) fits the exact pmf (chi-square, 100000 draws, 0.1%)', (n, p) => {
    const fit = binomialFit(binomial, n, p, 100_000, 17);
    expect(fit.statistic).toBeLessThan(fit.critical);
  });

  it.each(FIT_CASES)('the same check rejects Binomial(%i, %f) drawn with p off by 1%', (n, p) => {
    const biased: Sampler = (rng, m, q) => binomial(rng, m, Math.min(1, q * 1.01));
    const fit = binomialFit(biased, n, p, 100_000, 17);
    expect(fit.statistic).toBeGreaterThan(fit.critical);
  });
});

/** Every (a, b, c) with a + b + c = n, and its multinomial probability. */
function trinomialOutcomes(n: number, p: [number, number, number]): { key: string; probability: number }[] {
  const logFactorial = (k: number): number => (k < 2 ? 0 : Math.log(k) + logFactorial(k - 1));
  const out: { key: string; probability: number }[] = [];
  for (let a = 0; a <= n; a++) {
    for (let b = 0; a + b <= n; b++) {
      const c = n - a - b;
      const log = logFactorial(n) - logFactorial(a) - logFactorial(b) - logFactorial(c) + a * Math.log(p[0]) + b * Math.log(p[1]) + c * Math.log(p[2]);
      out.push({ key: `${a},${b},${c}`, probability: Math.exp(log) });
    }
  }
  return out;
}

function trinomialFit(m: Multinomial, draws: number) {
  const total = m.sizes.reduce((s, x) => s + x, 0);
  const outcomes = trinomialOutcomes(total, Array.from(m.sizes, (s) => s / total) as [number, number, number]);
  const seen = new Map<string, number>();
  const rng = new Xoshiro128(5);
  const counts = new Int32Array(3);
  for (let i = 0; i < draws; i++) {
    drawMultinomial(rng, total, m, counts);
    seen.set(counts.join(','), (seen.get(counts.join(',')) ?? 0) + 1);
  }
  // Ascending expected counts, so the merged bins are the rare outcomes together.
  outcomes.sort((x, y) => x.probability - y.probability);
  const fit = chiSquare(outcomes.map((o) => seen.get(o.key) ?? 0), outcomes.map((o) => o.probability * draws));
  return { ...fit, critical: chiSquareCritical(fit.df), outside: draws - outcomes.reduce((s, o) => s + (seen.get(o.key) ?? 0), 0) };
}

describe('multinomial as conditional binomials', () => {
  const sizes = Int32Array.from([3, 2, 1]);

  it('a resample of 6 rows from categories of 3, 2 and 1 fits the exact trinomial (chi-square, 60000 draws)', () => {
    const fit = trinomialFit(multinomialOf(sizes), 60_000);
    expect(fit.outside).toBe(0);
    expect(fit.statistic).toBeLessThan(fit.critical);
  });

  it('the same check rejects binomials on unconditional probabilities (a classic slip)', () => {
    const wrong: Multinomial = { sizes, conditional: Float64Array.from(sizes, (s) => s / 6) };
    const fit = trinomialFit(wrong, 60_000);
    expect(fit.statistic).toBeGreaterThan(fit.critical);
  });

  it('counts add up to the draws; one category takes them all', () => {
    const rng = new Xoshiro128(1);
    const m = multinomialOf(Int32Array.from([500, 300, 150, 40, 9, 1]));
    const counts = new Int32Array(6);
    for (let i = 0; i < 100; i++) {
      drawMultinomial(rng, 1000, m, counts);
      expect(counts.reduce((s, c) => s + c, 0)).toBe(1000);
    }
    const one = new Int32Array(1);
    drawMultinomial(rng, 77, multinomialOf(Int32Array.from([77])), one);
    expect(one).toEqual(Int32Array.from([77]));
  });
});
