// xoshiro128** (Blackman and Vigna, 2018): a small, fast, well-tested 32-bit
// generator, so the same seed gives the same bootstrap on every machine and
// Node version (Math.random can be neither seeded nor reproduced).

const TWO32 = 4294967296;

/** The largest n for which uniform indexes below n are exact: x * n must fit in a double's 53 bits. */
export const MAX_INDEX_RANGE = 2 ** 21;

// splitmix32-style mixing (the MurmurHash3 finalizer) spreads a small seed over all state bits.
function mix(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

export class Xoshiro128 {
  /** The four state words; hot loops copy them to locals and write them back (see resample-counts.ts). */
  readonly s = new Int32Array(4);

  /** Seeded from a non-negative safe integer; seeds that differ in any bit give unrelated streams. */
  constructor(seed: number) {
    const lo = seed % TWO32 | 0;
    const hi = Math.floor(seed / TWO32) | 0;
    let z = lo;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) | 0;
      this.s[i] = mix(z ^ (i >= 2 ? hi : 0));
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** Sets the raw state, e.g. to compare with the reference implementation. */
  static fromState(state: [number, number, number, number]): Xoshiro128 {
    const g = new Xoshiro128(0);
    g.s.set(state.map((w) => w | 0));
    return g;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const s1 = s[1]!;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s1;
    s[1] = s1 ^ s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = (s[3]! << 11) | (s[3]! >>> 21);
    return result >>> 0;
  }

  /** A uniform integer in [0, n), n <= MAX_INDEX_RANGE: Lemire's multiply-shift with rejection, so without bias. */
  nextBelow(n: number): number {
    const threshold = (TWO32 - n) % n;
    for (;;) {
      const product = this.nextUint32() * n;
      const index = Math.floor(product / TWO32);
      // product - index * 2^32 is the low word, exact since product < 2^53.
      if (product - index * TWO32 >= threshold) return index;
    }
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }
}
