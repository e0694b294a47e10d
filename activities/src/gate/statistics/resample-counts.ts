import { Xoshiro128 } from './xoshiro128.ts';

// One bootstrap resample of n rows as draw counts: n uniform draws with
// replacement, counts[i] = how often row i was drawn. This is the hot loop of
// the bootstrap (n draws per resample), so xoshiro128** and Lemire's bounded
// integer are inlined here; the result is the same as n calls of
// rng.nextBelow(n) (a unit test holds the two together).

const TWO32 = 4294967296;
const INV_TWO32 = 1 / TWO32;

/** Fills counts (length n) with a fresh resample's draw counts; advances rng. Needs n <= MAX_INDEX_RANGE. */
export function drawCounts(rng: Xoshiro128, counts: Int32Array): void {
  const n = counts.length;
  const threshold = ((TWO32 - n) % n) >>> 0;
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
      counts[((x >>> 0) * n * INV_TWO32) | 0]!++;
      i++;
    }
  }
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
}
