import { describe, expect, it } from 'vitest';
import { decide } from '@cd4ml/activities/gate/decide';
import type { PairedInterval } from '@cd4ml/activities/gate/statistics/index';

// Decision logic on given intervals (the intervals themselves are tested in gate-bootstrap.test.ts).
const interval = (over: Partial<PairedInterval>): PairedInterval => ({
  metric: 'accuracy', candidate: 0.931, baseline: 0.9138, difference: 0.0172, lo: -0.0086, hi: 0.0431,
  confidence: 0.95, resamples: 1000, rows: 58, seed: 1, undefinedResamples: 0, ...over,
});
const figures = 'accuracy 0.931 vs baseline v1.2 0.9138: +0.0172 (95% CI -0.0086 to +0.0431, 58 rows, 1000 resamples)';

describe('decide', () => {
  it('not-worse passes while the pessimistic end is within the margin', () => {
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: true, interval: interval({}), baselineTag: 'v1.2' }))
      .toEqual({ passed: true, detail: `${figures}; not-worse with margin 0.02: passed` });
  });
  it('better fails when the interval reaches below no difference', () => {
    expect(decide({ policy: 'better', margin: 0.02, higherIsBetter: true, interval: interval({}), baselineTag: 'v1.2' }))
      .toEqual({ passed: false, detail: `${figures}; better: failed, the interval includes no improvement` });
  });
  it('better passes when the whole interval is an improvement', () => {
    expect(decide({ policy: 'better', margin: 0, higherIsBetter: true, interval: interval({ lo: 0.004 }) }).passed).toBe(true);
  });
  it('not-worse fails beyond the margin and says by how much it may be worse', () => {
    const d = decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: true, interval: interval({ difference: -0.01, lo: -0.035 }) });
    expect(d).toEqual({
      passed: false,
      detail: 'accuracy 0.931 vs baseline 0.9138: -0.01 (95% CI -0.035 to +0.0431, 58 rows, 1000 resamples); ' +
        'not-worse with margin 0.02: failed, the candidate may be worse by up to 0.035',
    });
  });
  it('a bound exactly at the margin passes despite float rounding', () => {
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: true, interval: interval({ lo: 0.94 - 0.96 }) }).passed).toBe(true);
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: true, interval: interval({ lo: -0.0201 }) }).passed).toBe(false);
  });
  it('orients lower-is-better metrics: the pessimistic end is the top of the interval', () => {
    const rmse = (lo: number, hi: number) => interval({ metric: 'rmse', candidate: 1.2, baseline: 1.3, difference: -0.1, lo, hi });
    expect(decide({ policy: 'better', margin: 0, higherIsBetter: false, interval: rmse(-0.15, -0.05) })).toEqual({
      passed: true,
      detail: 'rmse 1.2 vs baseline 1.3: -0.1 (95% CI -0.15 to -0.05, 58 rows, 1000 resamples); better (lower is better): passed',
    });
    expect(decide({ policy: 'better', margin: 0, higherIsBetter: false, interval: rmse(-0.15, 0.01) }).passed).toBe(false);
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: false, interval: rmse(-0.15, 0.03) })).toMatchObject({
      passed: false, detail: expect.stringMatching(/not-worse with margin 0.02 \(lower is better\): failed, the candidate may be worse by up to 0.03$/),
    });
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: false, interval: rmse(-0.15, 0.019) }).passed).toBe(true);
  });
  it('identical models: not-worse passes even with margin 0, better fails', () => {
    const same = interval({ candidate: 0.9, baseline: 0.9, difference: 0, lo: 0, hi: 0 });
    expect(decide({ policy: 'not-worse', margin: 0, higherIsBetter: true, interval: same }).passed).toBe(true);
    expect(decide({ policy: 'better', margin: 0, higherIsBetter: true, interval: same }).passed).toBe(false);
  });
  it('mentions resamples left out, and fails an interval that is not a number', () => {
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: true, interval: interval({ undefinedResamples: 12, confidence: 0.9 }) }).detail)
      .toContain('(90% CI -0.0086 to +0.0431, 58 rows, 1000 resamples, 12 resamples undefined and left out)');
    expect(decide({ policy: 'not-worse', margin: 0.02, higherIsBetter: true, interval: interval({ lo: NaN }) })).toMatchObject({
      passed: false, detail: expect.stringMatching(/not-worse with margin 0.02: failed, the interval is not a number$/),
    });
  });
});
