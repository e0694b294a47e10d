import { binomial } from './binomial.ts';
import type { Xoshiro128 } from './xoshiro128.ts';

// Drawing n rows with replacement from a holdout whose rows fall into m
// categories (sizes[j] rows in category j) and counting the draws per category
// is a Multinomial(n; sizes / n) draw. Drawn as conditional binomials,
//   N_j ~ Binomial(n - N_1 - ... - N_{j-1}, sizes[j] / (sizes[j] + ... + sizes[m])),
// it costs m - 1 binomial draws instead of n uniform ones.

export interface Multinomial {
  /** Rows in each category, in draw order; the counts a draw fills are in this order too. */
  readonly sizes: Int32Array;
  /** sizes[j] / (sizes[j] + ... + sizes[m - 1]): category j's share of what is left to draw. */
  readonly conditional: Float64Array;
}

/** The multinomial of a holdout with sizes[j] rows in category j (every size positive). */
export function multinomialOf(sizes: Int32Array): Multinomial {
  const conditional = new Float64Array(sizes.length);
  let rest = 0;
  for (let j = sizes.length - 1; j >= 0; j--) {
    rest += sizes[j]!;
    conditional[j] = sizes[j]! / rest;
  }
  return { sizes, conditional };
}

/** Fills counts (one per category) with a resample of `draws` rows; advances rng. */
export function drawMultinomial(rng: Xoshiro128, draws: number, m: Multinomial, counts: Int32Array): void {
  const last = m.sizes.length - 1;
  let left = draws;
  for (let j = 0; j < last; j++) {
    const k = left > 0 ? binomial(rng, left, m.conditional[j]!) : 0;
    counts[j] = k;
    left -= k;
  }
  if (last >= 0) counts[last] = left;
}
