/**
 * The q-quantile (0..1) of ascending sorted values, numpy's default "linear"
 * method (Hyndman-Fan 7), to the last bit: index (n - 1) q, interpolated from
 * the nearer end as numpy's _lerp does.
 */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, n - 1)]!;
  const t = h - lo;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
