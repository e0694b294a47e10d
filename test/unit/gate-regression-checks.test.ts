import { describe, expect, it } from 'vitest';
import { finitePredictionsCheck, predictionRangeCheck, residualBiasCheck } from '@cd4ml/activities/gate/regression-checks';

// Figures chosen so the expected numbers are exact by hand: std of 1..5 is sqrt(2) = 1.414, etc.

describe('finitePredictionsCheck', () => {
  it('passes finite predictions', () => {
    expect(finitePredictionsCheck(Float32Array.from([1, 2.5, -3]))).toEqual({ name: 'finite-predictions', passed: true, detail: 'all 3 predictions are finite' });
  });
  it('counts NaN and infinite predictions and names the first', () => {
    expect(finitePredictionsCheck([1, NaN, Infinity, 2, NaN, -Infinity])).toEqual({
      name: 'finite-predictions', passed: false,
      detail: '4 of 6 predictions are not finite (2 NaN, 2 infinite); first at row 1: NaN',
    });
    expect(finitePredictionsCheck(Float32Array.from([0, 0, -Infinity])).detail).toBe('1 of 3 predictions are not finite (1 infinite); first at row 2: -Infinity');
  });
  it('fails no predictions', () => {
    expect(finitePredictionsCheck([])).toMatchObject({ passed: false, detail: 'no predictions' });
  });
});

describe('predictionRangeCheck', () => {
  const range = { min: 0, max: 100 };
  const allowed = '[-50, 150] (training targets 0 to 100, widened by 0.5 x 100 each side)';
  it('passes predictions within the widened range, bounds included', () => {
    expect(predictionRangeCheck([0, 150, -50, 20], range, 0.5)).toEqual({
      name: 'prediction-range', passed: true, detail: `all 4 predictions within ${allowed}`,
    });
  });
  it('counts predictions outside and names the worst', () => {
    expect(predictionRangeCheck([10, 151, 250, -60], range, 0.5)).toEqual({
      name: 'prediction-range', passed: false, detail: `3 of 4 predictions outside ${allowed}; worst 250 at row 2`,
    });
  });
  it('counts NaN as outside, and as the worst', () => {
    expect(predictionRangeCheck([10, NaN, 250], range, 0.5).detail).toBe(`2 of 3 predictions outside ${allowed}; worst NaN at row 1`);
  });
  it('a single-valued range with band 0 allows that value only', () => {
    expect(predictionRangeCheck([5, 5], { min: 5, max: 5 }, 0).passed).toBe(true);
    expect(predictionRangeCheck([5, 5.01], { min: 5, max: 5 }, 0).passed).toBe(false);
  });
  it('fails without a target range, or with one that is not a range', () => {
    expect(predictionRangeCheck([1], undefined, 0.5)).toMatchObject({
      passed: false, detail: "holdout.json has no targetRange (the training targets' min and max): the range cannot be checked",
    });
    expect(predictionRangeCheck([1], { min: 3, max: 1 }, 0.5)).toMatchObject({ passed: false, detail: 'targetRange min 3 to max 1 is not a range' });
  });
});

describe('residualBiasCheck', () => {
  const targets = [1, 2, 3, 4, 5];
  it('passes a small bias', () => {
    expect(residualBiasCheck(targets, targets.map((y) => y - 0.3), 0.25)).toEqual({
      name: 'residual-bias', passed: true,
      detail: 'mean residual (target - prediction) 0.3: |0.3| <= 0.25 x std of the targets 1.414 = 0.3536',
    });
  });
  it('fails a large bias', () => {
    expect(residualBiasCheck(Float64Array.from(targets), Float32Array.from(targets.map((y) => y + 0.5)), 0.25)).toEqual({
      name: 'residual-bias', passed: false,
      detail: 'mean residual (target - prediction) -0.5: |-0.5| > 0.25 x std of the targets 1.414 = 0.3536',
    });
  });
  it('a bias exactly at the limit passes', () => {
    expect(residualBiasCheck([0, 2], [-0.25, 1.75], 0.25).passed).toBe(true);
  });
  it('fails when it cannot compute, saying why', () => {
    expect(residualBiasCheck([1, 2, 3], [1, NaN, 3], 0.25)).toMatchObject({ passed: false, detail: 'cannot compute: NaN prediction at row 1' });
    expect(residualBiasCheck([1, 2, 3], [1, 2], 0.25)).toMatchObject({ passed: false, detail: 'cannot compute: 2 predictions for 3 holdout rows' });
    expect(residualBiasCheck([], [], 0.25)).toMatchObject({ passed: false, detail: 'no holdout targets' });
  });
});
