import { Xoshiro128 } from './xoshiro128.ts';

// One bootstrap resample of n rows: n uniform draws with replacement, the
// same as n calls of rng.nextBelow(n) (unit tests hold them together). This is
// the hot loop of the bootstrap, so xoshiro128** and Lemire's bounded integer
// are inlined, three times: drawCounts keeps how often each row was drawn,
// sumOverDraws adds up one per-row value per draw without counts (no clearing,
// no second pass: a third faster for a mean metric), sumPairOverDraws two (rmse:
// 52 -> 33 ms at 10k rows). One loop with a branch on which to do costs every
// metric a tenth.

const TWO32 = 4294967296;
const INV_TWO32 = 1 / TWO32;

/** Fills counts (length n) with a fresh resample's draw counts; advances rng. Needs n <= MAX_INDEX_RANGE. */
export function drawCounts(rng: Xoshiro128, counts: Int32Array): void {
  const n = counts.length;
  const threshold = ((TWO32 - n) % n) >>> 0;
  const scale = n * INV_TWO32;
  const st = rng.s;
  let s0 = st[0]!;
  let s1 = st[1]!;
  let s2 = st[2]!;
  let s3 = st[3]!;
  counts.fill(0);
  for (let i = 0; i < n;) {
    const m = Math.imul(s1, 5);
    const x = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    // Lemire: the low word of x * n (integer multiply) decides rejection; the high word is the index.
    // (x >>> 0) * n < 2^53 is exact, and the index is below n < 2^31.
    if (Math.imul(x, n) >>> 0 >= threshold) {
      counts[((x >>> 0) * scale) | 0]!++;
      i++;
    }
  }
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
}

/** The sum over a fresh resample's n draws of values[row] (values.length = n); advances rng exactly as drawCounts does. */
export function sumOverDraws(rng: Xoshiro128, values: Float64Array): number {
  const n = values.length;
  const threshold = ((TWO32 - n) % n) >>> 0;
  const scale = n * INV_TWO32;
  const st = rng.s;
  let s0 = st[0]!;
  let s1 = st[1]!;
  let s2 = st[2]!;
  let s3 = st[3]!;
  let sum = 0;
  for (let i = 0; i < n;) {
    const m = Math.imul(s1, 5);
    const x = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    if (Math.imul(x, n) >>> 0 >= threshold) {
      sum += values[((x >>> 0) * scale) | 0]!;
      i++;
    }
  }
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
  return sum;
}

/**
 * The sums over a fresh resample's n draws of a[row] and of b[row] (into out[0],
 * out[1]); advances rng exactly as drawCounts does. For a metric of one column
 * per model (rmse): no counts to clear and no second pass over both columns.
 */
export function sumPairOverDraws(rng: Xoshiro128, a: Float64Array, b: Float64Array, out: Float64Array): void {
  const n = a.length;
  const threshold = ((TWO32 - n) % n) >>> 0;
  const scale = n * INV_TWO32;
  const st = rng.s;
  let s0 = st[0]!;
  let s1 = st[1]!;
  let s2 = st[2]!;
  let s3 = st[3]!;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n;) {
    const m = Math.imul(s1, 5);
    const x = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    if (Math.imul(x, n) >>> 0 >= threshold) {
      const row = ((x >>> 0) * scale) | 0;
      sa += a[row]!;
      sb += b[row]!;
      i++;
    }
  }
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
  out[0] = sa;
  out[1] = sb;
}
