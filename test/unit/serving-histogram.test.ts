import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '@cd4ml/serving/http/histogram';

// FastHistogram must print exactly what prom-client's own Histogram prints for
// the same observations: dashboards and alerts are written against that text.
describe('FastHistogram', () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations: [Record<'model' | 'version', string>, number][] = [
    [{ model: 'penguins', version: 'v1' }, 0.0005],
    [{ model: 'penguins', version: 'v1' }, 0.001], // on a bound: counts in that bucket (le)
    [{ model: 'penguins', version: 'v1' }, 0.05],
    [{ model: 'penguins', version: 'v2' }, 3], // above every bound: only +Inf
    [{ model: 'penguins', version: 'v1' }, 0.2],
  ];

  it('prints the same /metrics text as prom-client Histogram', async () => {
    const theirs = new Registry();
    const reference = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['model', 'version'], buckets, registers: [theirs] });
    const ours = new Registry();
    const fast = new FastHistogram('x_seconds', 'h', ['model', 'version'] as const, buckets, ours);
    for (const [labels, v] of observations) {
      reference.observe(labels, v);
      fast.observe(fast.series(labels.model, labels.version), v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('counts an observation `times` times, skips non-finite values and resets', async () => {
    const reg = new Registry();
    const fast = new FastHistogram('batch', 'h', ['model'] as const, [1, 4, 16], reg);
    const s = fast.series('m');
    fast.observe(s, 3, 5);
    fast.observe(s, NaN);
    const text = await reg.metrics();
    expect(text).toContain('batch_bucket{le="4",model="m"} 5');
    expect(text).toContain('batch_sum{model="m"} 15');
    expect(text).toContain('batch_count{model="m"} 5');
    fast.reset();
    expect(await reg.metrics()).not.toContain('batch_count');
    expect(() => new FastHistogram('bad', 'h', [], [2, 1], new Registry())).toThrow(/buckets must increase/);
  });
});
