/** Short human number for messages: 0.9412, 3.1e-6, 12, NaN. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && Math.abs(n) < 1e-3) return n.toExponential(1);
  return String(Number(n.toPrecision(4)));
}
