import type { Metric, Registry } from 'prom-client';

// A Prometheus histogram whose observe() is a bucket search and three
// additions. prom-client's Histogram.observe() builds a closure, validates and
// hashes the label object on every call (about 1 µs and 400 bytes of garbage);
// three of those per inference request showed up in profiles of a 10k req/s
// server. A label set is looked up by its values (`series`), without an object.
// Registered on a prom-client Registry as a custom metric, so /metrics prints
// it exactly as prom-client prints its own histograms.

export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Per-bucket (not cumulative) counts; the last one is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series_ = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    readonly buckets: readonly number[],
    registry: Registry,
  ) {
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) throw new Error(`${name}: buckets must increase`);
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series for one label set, given as values in `labelNames` order
   * (created on first use). Cheap enough per request; callers may keep the handle.
   */
  series(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let s = this.series_.get(key);
    if (!s) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: ${this.labelNames.length} label values expected, got ${values.length}`);
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
      s = { labels, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series_.set(key, s);
    }
    return s;
  }

  /** Adds `times` observations of `value` (a batch observes its size once for all its requests). */
  observe(s: HistogramSeries, value: number, times = 1): void {
    if (!Number.isFinite(value)) return;
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    s.counts[i]! += times;
    s.sum += value * times;
    s.count += times;
  }

  // ---- prom-client's custom metric interface ----

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.series_.values()) {
      let acc = 0;
      this.buckets.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series_.clear();
  }
}
