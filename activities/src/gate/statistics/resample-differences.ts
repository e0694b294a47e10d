import type { CategoricalKernel } from './categorical-difference.ts';
import { drawMultinomial } from './multinomial.ts';
import type { DifferenceKernel } from './paired-difference.ts';
import { drawCounts, sumOverDraws, sumPairOverDraws } from './resample-counts.ts';
import { Xoshiro128 } from './xoshiro128.ts';

// The resampled differences of pairedBootstrapAll, by either path: row draws
// shared by all the row kernels, or each categorical kernel's own multinomial.

export interface Resampled {
  /** The defined differences first, `defined` of them. */
  differences: Float64Array;
  defined: number;
}

/**
 * A binomial draw (100-200 ns) costs about as much as drawing and scoring this
 * many rows (3-8 ns each); a resample of m categories takes m - 1 of them.
 */
export const BINOMIAL_COST_IN_ROWS = 32;

/** The row kernels on one shared stream of row draws from `seed`, so they see the same resamples. */
export function rowDifferences(kernels: readonly DifferenceKernel[], rows: number, resamples: number, seed: number): Resampled[] {
  const out = kernels.map(() => ({ differences: new Float64Array(resamples), defined: 0 }));
  if (kernels.length === 0) return out;
  const rng = new Xoshiro128(seed);
  // A lone mean metric sums its differences straight off the draws; otherwise all share one set of counts.
  const perDraw = kernels.length === 1 ? kernels[0]!.perDraw : undefined;
  if (perDraw) {
    for (let r = 0; r < resamples; r++) out[0]!.differences[r] = sumOverDraws(rng, perDraw) / rows;
    out[0]!.defined = resamples;
    return out;
  }
  // Likewise a lone metric of one column per model: both sums straight off the draws.
  const pair = kernels.length === 1 ? kernels[0]!.perDrawPair : undefined;
  if (pair) {
    const sums = new Float64Array(2);
    for (let r = 0; r < resamples; r++) {
      sumPairOverDraws(rng, pair.a, pair.b, sums);
      const d = pair.fromSums(sums);
      if (!Number.isNaN(d)) out[0]!.differences[out[0]!.defined++] = d;
    }
    return out;
  }
  const counts = new Int32Array(rows);
  for (let r = 0; r < resamples; r++) {
    drawCounts(rng, counts);
    for (let m = 0; m < kernels.length; m++) {
      const d = kernels[m]!.fromCounts(counts);
      if (!Number.isNaN(d)) out[m]!.differences[out[m]!.defined++] = d;
    }
  }
  return out;
}

/** One categorical kernel on its own stream of multinomial draws from `seed`: the same interval alone or with other metrics. */
export function categoryDifferences(kernel: CategoricalKernel, rows: number, resamples: number, seed: number): Resampled {
  const rng = new Xoshiro128(seed);
  const counts = new Int32Array(kernel.multinomial.sizes.length);
  const out = { differences: new Float64Array(resamples), defined: 0 };
  for (let r = 0; r < resamples; r++) {
    drawMultinomial(rng, rows, kernel.multinomial, counts);
    const d = kernel.fromCategoryCounts(counts);
    if (!Number.isNaN(d)) out.differences[out.defined++] = d;
  }
  return out;
}
