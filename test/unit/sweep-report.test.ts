import { describe, expect, it } from 'vitest';
import type { SweepReport } from '@cd4ml/contracts';
import { sweepPlot, sweepSection } from '@cd4ml/activities/release/sweep-report';
import { sweepReport } from '@cd4ml/workflows/sweep-trials';
import type { SweepStatus } from '@cd4ml/contracts';

const status: SweepStatus = {
  workflowId: 'sweep/penguins/v2.0', releaseTag: 'v2.0', metric: 'accuracy', higherIsBetter: true, parallel: 2, budget: 0.5, spent: null, state: 'running',
  trials: [
    { n: 1, workflowId: 'w1', setting: { 'train.C': 0.001 }, location: 'gpu', state: 'rejected', metric: 0.4444, interval: { lo: -0.6, hi: -0.5, confidence: 0.95 }, cost: 0.0061, machine: 'g4dn.xlarge', reason: 'baseline: worse' },
    { n: 2, workflowId: 'w2', setting: { 'train.C': 1 }, location: 'gpu', state: 'accepted', metric: 0.9815, interval: null, cost: 0.0059, machine: 'g4dn.xlarge' },
    { n: 3, workflowId: 'w3', setting: { 'train.C': 100, 'train.model': 'logistic_regression', 'export.probability_scale': 1 }, location: 'gpu', state: 'accepted', metric: 0.963, interval: null, cost: 0.006, machine: 'g4dn.xlarge' },
    { n: 4, workflowId: 'w4', setting: { 'train.C': 1000 }, location: 'gpu', state: 'failed', cost: 0.001, reason: 'dvc repro failed' },
    { n: 5, workflowId: 'w5', setting: { 'train.C': 5000 }, location: 'gpu', state: 'skipped', reason: 'budget $0.50: would pass it' },
  ],
};

describe("a sweep's release report", () => {
  const report: SweepReport = sweepReport(status, 2);

  it('shows the trials as they end: the best released, the other accepted ones discarded, the spend summed', () => {
    expect(report.trials.map((t) => t.state)).toEqual(['rejected', 'released', 'discarded', 'failed', 'skipped']);
    expect(report.spent).toBeCloseTo(0.019, 10);
    expect(status.trials[1]!.state).toBe('accepted'); // the live status is left alone
  });

  it('has one table row per trial (setting, state, metric with interval, cost, machine), why trials did not count, and the plot', () => {
    const md = sweepSection(report, 'plots/sweep-metric.svg').join('\n');
    expect(md).toContain('## Sweep: trial 2 of 5, the best accepted by accuracy');
    expect(md).toContain('Spent $0.02 of the budget $0.50.');
    expect(md).toContain('| 1 | train.C=0.001 | rejected | 0.4444 (vs baseline -0.6..-0.5, 95%) | $0.0061 | g4dn.xlarge |');
    expect(md).toContain('| 2 | train.C=1 | released | 0.9815 | $0.0059 | g4dn.xlarge |');
    expect(md).toContain('| 5 | train.C=5000 | skipped | - | - | - |');
    expect(md).toContain('- trial 4 failed: dvc repro failed');
    expect(md).toContain('![accuracy per setting](plots/sweep-metric.svg)');
  });

  it('plots the gate metric of each measured trial, one bar per setting', async () => {
    const plot = await sweepPlot(report);
    expect(plot.file).toBe('plots/sweep-metric.svg');
    expect(plot.title).toBe('accuracy per setting, measured by cd4ml on the holdout (3 of 5 trials; 2 without a measurement)');
    expect(plot.svg).toMatch(/^<svg /);
    for (const label of ['1: train.C=0.001', '2: train.C=1', '3: train.C=100 train.model=logistic_regression export.probability_scale=1']) expect(plot.svg).toContain(`>${label}<`);
    expect(plot.svg).not.toContain('train.C=5000');
    // Three bars, and the value written beside each.
    expect(plot.svg.match(/aria-roledescription="bar"/g)).toHaveLength(3);
    for (const v of ['0.4444', '0.9815', '0.963']) expect(plot.svg).toContain(`>${v}<`);
  });
});
