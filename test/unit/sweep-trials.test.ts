import { describe, expect, it } from 'vitest';
import type { SweepPlan } from '@cd4ml/activities';
import { bestTrial, budgetRefusal, initialStatus, spent, sweepSummary } from '@cd4ml/workflows/sweep-trials';

const plan = (over: Partial<SweepPlan> = {}): SweepPlan => ({
  request: { project: 'penguins', repoUrl: '/r.git', branch: 'main', releaseTag: 'v2.0', requestedBy: 't', reason: '', configPath: 'cd4ml.yaml', location: 'gpu' },
  commit: 'abc', settings: [{ 'train.C': 0.1 }, { 'train.C': 1 }, { 'train.C': 10 }, { 'train.C': 100 }],
  locations: [{ name: 'gpu', hourlyPrice: 3.6, maxRuntimeMs: 3_600_000, launched: true }, { name: 'cpu', hourlyPrice: 0.36, maxRuntimeMs: 3_600_000, launched: true }],
  parallel: 2, budget: null, trialEstimateMs: 600_000, metric: 'accuracy', higherIsBetter: true, store: '/s', ...over,
});

describe('sweep bookkeeping', () => {
  it('names each trial under the sweep and spreads them over the locations in turn', () => {
    const s = initialStatus(plan(), 'sweep/penguins/v2.0');
    expect(s.trials.map((t) => [t.workflowId, t.location])).toEqual([
      ['sweep/penguins/v2.0/trial-1', 'gpu'], ['sweep/penguins/v2.0/trial-2', 'cpu'],
      ['sweep/penguins/v2.0/trial-3', 'gpu'], ['sweep/penguins/v2.0/trial-4', 'cpu'],
    ]);
  });

  it('the best is the accepted trial with the best gate metric, in the metric\'s direction; rejected ones do not count', () => {
    const s = initialStatus(plan(), 'sweep/penguins/v2.0');
    Object.assign(s.trials[0]!, { state: 'accepted', metric: 0.9 });
    Object.assign(s.trials[1]!, { state: 'rejected', metric: 0.99 });
    Object.assign(s.trials[2]!, { state: 'accepted', metric: 0.95 });
    Object.assign(s.trials[3]!, { state: 'accepted', metric: 0.95 });
    expect(bestTrial(s)?.n).toBe(3);
    expect(bestTrial({ ...s, higherIsBetter: false })?.n).toBe(1);
    for (const t of s.trials) t.state = 'failed';
    expect(bestTrial(s)).toBeUndefined();
    expect(sweepSummary(s)).toBe('nothing released: every trial failed; 4 trials, 4 failed');
  });

  it('no trial starts when the spend so far, the running trials and its own expected cost would pass the budget', () => {
    const p = plan({ budget: 1.3 });
    const s = initialStatus(p, 'sweep/penguins/v2.0');
    // Before any trial ended: 10 minutes at $3.60/h = $0.60 on gpu, $0.06 on cpu.
    expect(budgetRefusal(p, s, s.trials[0]!)).toBeNull();
    s.trials[0]!.state = 'running';
    s.trials[1]!.state = 'running';
    expect(budgetRefusal(p, s, s.trials[2]!)).toBeNull(); // 0.60 + 0.06 + 0.60 <= 1.3
    s.trials[2]!.state = 'running';
    expect(budgetRefusal(p, s, s.trials[3]!)).toBe('budget $1.30: spent $0.00, running $1.26, this trial\'s expected $0.06 would pass it');
  });

  it('once trials have ended, their mean cost is the expected cost', () => {
    const p = plan({ budget: 2 });
    const s = initialStatus(p, 'sweep/penguins/v2.0');
    Object.assign(s.trials[0]!, { state: 'accepted', cost: 0.5 });
    Object.assign(s.trials[1]!, { state: 'rejected', cost: 0.7 });
    expect(spent(s)).toBeCloseTo(1.2);
    expect(budgetRefusal(p, s, s.trials[2]!)).toBeNull(); // 1.2 + 0.6 <= 2
    s.trials[2]!.state = 'running';
    expect(budgetRefusal(p, s, s.trials[3]!)).toMatch(/^budget \$2\.00: spent \$1\.20, running \$0\.60, this trial's expected \$0\.60 would pass it$/);
    expect(budgetRefusal(plan(), s, s.trials[3]!)).toBeNull();
  });
});
