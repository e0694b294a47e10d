import { describe, expect, it } from 'vitest';
import { TrainingRequest } from '@cd4ml/contracts';
import { positiveNumber } from '@cd4ml/client/commands/parse-options';
import { budgetMs } from '@cd4ml/workflows/training-budget';

describe('train --budget', () => {
  it('reads a USD amount above 0, naming the flag otherwise', () => {
    expect(positiveNumber('--budget')('2.50')).toBe(2.5);
    expect(() => positiveNumber('--budget')('0')).toThrow('--budget must be a number > 0 (USD), got 0');
    expect(() => positiveNumber('--budget')('five')).toThrow('--budget must be a number > 0 (USD), got five');
  });

  it('is part of the training request, and only as a positive number', () => {
    const base = { project: 'p', repoUrl: '/r.git', releaseTag: 'v1', location: 'gpu' };
    expect(TrainingRequest.parse({ ...base, budget: 1.5 }).budget).toBe(1.5);
    expect(TrainingRequest.parse(base).budget).toBeUndefined();
    expect(TrainingRequest.safeParse({ ...base, budget: -1 }).success).toBe(false);
  });

  it('buys machine time at the hourly price: $0.526/h for $0.0037 is about 25 s', () => {
    expect(budgetMs(0.0037, 0.526)).toBeCloseTo(25_323, 0);
    expect(budgetMs(5, 2.5)).toBe(7_200_000);
  });
});
