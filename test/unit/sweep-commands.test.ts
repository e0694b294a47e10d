import { describe, expect, it } from 'vitest';
import { CommitCommandError, parseCommitCommand, type SweepStatus } from '@cd4ml/contracts';
import { renderSweepStatus } from '@cd4ml/client/render-sweep';

describe('trigger sweep in a commit message', () => {
  it('reads the tag, the grid (one key=values per word) and an optional location', () => {
    expect(parseCommitCommand('trigger sweep v2.0 train.C=0.1,1,10\n\nmore text')).toEqual({ kind: 'sweep', releaseTag: 'v2.0', grid: { 'train.C': [0.1, 1, 10] } });
    expect(parseCommitCommand('Trigger sweep v2.1 train.C=1,2 train.model=logistic_regression,decision_tree on gpu: tonight')).toEqual({
      kind: 'sweep', releaseTag: 'v2.1', grid: { 'train.C': [1, 2], 'train.model': ['logistic_regression', 'decision_tree'] }, location: 'gpu',
    });
    expect(parseCommitCommand('trigger training v1.4')).toEqual({ kind: 'train', releaseTag: 'v1.4' });
    expect(parseCommitCommand('trigger sweeping the floor')).toBeNull();
  });

  it('refuses a sweep command it cannot run, saying what is missing', () => {
    expect(() => parseCommitCommand('trigger sweep')).toThrow('"trigger sweep" needs a release tag and a grid');
    expect(() => parseCommitCommand('trigger sweep v2.0')).toThrow('"trigger sweep v2.0" needs a grid: "trigger sweep v2.0 train.C=0.1,1,10"');
    expect(() => parseCommitCommand('trigger sweep v2.0 train.C')).toThrow(/"trigger sweep v2.0": "train.C": expected <dotted key>=<values>/);
    expect(() => parseCommitCommand('trigger sweep v2.0 train.C=1 on')).toThrow(CommitCommandError);
    expect(() => parseCommitCommand('trigger sweep v..2 train.C=1')).toThrow(/is not a release tag/);
  });
});

describe('cd4ml sweep status', () => {
  it('prints one row per trial: setting, state, metric with interval, cost, machine; then reasons and the summary', () => {
    const status: SweepStatus = {
      workflowId: 'sweep/penguins/v2.0', releaseTag: 'v2.0', metric: 'accuracy', higherIsBetter: true, parallel: 3, budget: 5, spent: 0.0421,
      state: 'released', best: 2, summary: 'released v2.0: trial 2 (accuracy 0.98); 3 trials, 1 released, 1 rejected, 1 skipped, spent $0.04 of $5.00',
      trials: [
        { n: 1, workflowId: 'w1', setting: { 'train.C': 0.001 }, location: 'gpu', state: 'rejected', metric: 0.5, interval: { lo: -0.5, hi: -0.41, confidence: 0.95 }, cost: 0.02, machine: 'g4dn.xlarge', reason: 'baseline: worse' },
        { n: 2, workflowId: 'w2', setting: { 'train.C': 1 }, location: 'gpu', state: 'released', metric: 0.98, interval: null, cost: 0.0221, machine: 'g4dn.xlarge' },
        { n: 3, workflowId: 'w3', setting: { 'train.C': 100 }, location: 'gpu', state: 'skipped', reason: 'budget $5.00: ...' },
      ],
    };
    expect(renderSweepStatus(status).split('\n')).toEqual([
      'sweep/penguins/v2.0 (released; 3 at a time; budget $5.00 spent $0.04)',
      '#  setting        state     accuracy                            cost   machine',
      '1  train.C=0.001  rejected  0.5 (vs baseline -0.5..-0.41, 95%)  $0.02  g4dn.xlarge',
      '2  train.C=1      released  0.98                                $0.02  g4dn.xlarge',
      '3  train.C=100    skipped   -                                   -      -',
      '',
      '  trial 1 rejected: baseline: worse',
      '  trial 3 skipped: budget $5.00: ...',
      '',
      'released v2.0: trial 2 (accuracy 0.98); 3 trials, 1 released, 1 rejected, 1 skipped, spent $0.04 of $5.00',
    ]);
  });
});
