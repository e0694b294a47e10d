import type { Xoshiro128 } from './xoshiro128.ts';

// An exact Binomial(n, p) sampler on the seeded generator, so a categorical
// bootstrap can draw a resample's category counts instead of its rows. It
// follows numpy's legacy random_binomial (numpy/random/src/distributions/
// distributions.c): inversion when n * min(p, 1 - p) <= 30, otherwise the BTPE
// acceptance-rejection of Kachitvichyanukul and Schmeiser (1988) with numpy's
// sign correction of the Stirling terms; p > 0.5 draws n - Binomial(n, 1 - p).
// numpy caches each (n, p)'s set-up; here n and p change with every draw.

/** A Binomial(n, p) draw: n a non-negative integer (exact well past 2^21), any p in [0, 1]; advances rng. */
export function binomial(rng: Xoshiro128, n: number, p: number): number {
  if (n === 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p <= 0.5) return n * p <= 30 ? inversion(rng, n, p) : btpe(rng, n, p);
  const q = 1 - p;
  return n - (n * q <= 30 ? inversion(rng, n, q) : btpe(rng, n, q));
}

/**
 * Walks the cdf from 0 with one uniform; p <= 0.5 and n p <= 30, so q^n does
 * not underflow. Past mean + 10 sd (probability below 1e-20) it starts over,
 * as numpy does, instead of running into rounding at the far tail.
 */
function inversion(rng: Xoshiro128, n: number, p: number): number {
  const q = 1 - p;
  const qn = Math.exp(n * Math.log1p(-p));
  const np = n * p;
  const bound = Math.min(n, Math.floor(np + 10 * Math.sqrt(np * q + 1)));
  let x = 0;
  let px = qn;
  let u = rng.nextDouble();
  while (u > px) {
    x++;
    if (x > bound) {
      x = 0;
      px = qn;
      u = rng.nextDouble();
    } else {
      u -= px;
      px = ((n - x + 1) * p * px) / (x * q);
    }
  }
  return x;
}

/** BTPE's hat: a triangle, two parallelograms and two exponential tails around the mode (p <= 0.5, n p > 30). */
interface Hat {
  n: number; r: number; q: number; nrq: number; fm: number; m: number;
  p1: number; xm: number; xl: number; xr: number; c: number; laml: number; lamr: number;
  p2: number; p3: number; p4: number;
}

function hatOf(n: number, r: number): Hat {
  const q = 1 - r;
  const fm = n * r + r;
  const m = Math.floor(fm);
  const p1 = Math.floor(2.195 * Math.sqrt(n * r * q) - 4.6 * q) + 0.5;
  const xm = m + 0.5;
  const xl = xm - p1;
  const xr = xm + p1;
  const c = 0.134 + 20.5 / (15.3 + m);
  let a = (fm - xl) / (fm - xl * r);
  const laml = a * (1 + a / 2);
  a = (xr - fm) / (xr * q);
  const lamr = a * (1 + a / 2);
  const p2 = p1 * (1 + 2 * c);
  const p3 = p2 + c / laml;
  const p4 = p3 + c / lamr;
  return { n, r, q, nrq: n * r * q, fm, m, p1, xm, xl, xr, c, laml, lamr, p2, p3, p4 };
}

function btpe(rng: Xoshiro128, n: number, r: number): number {
  const h = hatOf(n, r);
  for (;;) {
    const u = rng.nextDouble() * h.p4;
    let v = rng.nextDouble();
    // Triangle: accepted at once.
    if (u <= h.p1) return Math.floor(h.xm - h.p1 * v + u);
    let y: number;
    if (u <= h.p2) {
      const x = h.xl + (u - h.p1) / h.c;
      v = v * h.c + 1 - Math.abs(h.m - x + 0.5) / h.p1;
      if (v > 1) continue;
      y = Math.floor(x);
    } else if (u <= h.p3) {
      y = Math.floor(h.xl + Math.log(v) / h.laml);
      if (y < 0 || v === 0) continue;
      v = v * (u - h.p2) * h.laml;
    } else {
      y = Math.floor(h.xr - Math.log(v) / h.lamr);
      if (y > n || v === 0) continue;
      v = v * (u - h.p3) * h.lamr;
    }
    if (accepts(h, y, v)) return y;
  }
}

/** Whether v falls under the binomial's f(y) / f(m): exactly near the mode, else by Stirling's bounds. */
function accepts(h: Hat, y: number, v: number): boolean {
  const { n, r, q, m, nrq } = h;
  const k = Math.abs(y - m);
  if (k <= 20 || k >= nrq / 2 - 1) {
    // f(y) / f(m) as a product of consecutive ratios.
    const s = r / q;
    const a = s * (n + 1);
    let f = 1;
    if (m < y) for (let i = m + 1; i <= y; i++) f *= a / i - s;
    else if (m > y) for (let i = y + 1; i <= m; i++) f /= a / i - s;
    return v <= f;
  }
  const rho = (k / nrq) * ((k * (k / 3 + 0.625) + 0.16666666666666666) / nrq + 0.5);
  const t = (-k * k) / (2 * nrq);
  const A = Math.log(v);
  if (A < t - rho) return true;
  if (A > t + rho) return false;
  const x1 = y + 1;
  const f1 = m + 1;
  const z = n + 1 - m;
  const w = n - y + 1;
  // The third and fourth Stirling terms are subtracted: numpy's correction of the 1988 paper, which adds all four.
  const bound = h.xm * Math.log(f1 / x1) + (n - m + 0.5) * Math.log(z / w) + (y - m) * Math.log((w * r) / (x1 * q))
    + stirling(f1) + stirling(z) - stirling(x1) - stirling(w);
  return A <= bound;
}

/** The series term of log Gamma's Stirling expansion that BTPE's final test uses. */
function stirling(x: number): number {
  const x2 = x * x;
  return (13860 - (462 - (132 - (99 - 140 / x2) / x2) / x2) / x2) / x / 166320;
}
