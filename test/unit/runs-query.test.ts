import { describe, expect, it } from 'vitest';
import { runsQuery, sinceDate } from '@cd4ml/client/runs/query';
import { renderRuns } from '@cd4ml/client/runs/render-runs';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('cd4ml runs: the visibility query and the table', () => {
  it('lists every kind by default; a project matches trainings by attribute, sweeps and images by id', () => {
    expect(runsQuery({}, NOW)).toBe('WorkflowType IN ("trainModel", "sweep", "buildImage")');
    expect(runsQuery({ project: 'penguins' }, NOW)).toBe(
      'WorkflowType IN ("trainModel", "sweep", "buildImage") AND (Cd4mlProject = "penguins" OR WorkflowId STARTS_WITH "sweep/penguins/" OR WorkflowId STARTS_WITH "image/penguins/")');
  });

  it('a location or decision selects trainings; since is a span or a date', () => {
    expect(runsQuery({ project: 'p', location: 'gpu-alice', decision: 'rejected', since: '7d' }, NOW)).toBe(
      'WorkflowType IN ("trainModel") AND (Cd4mlProject = "p") AND Cd4mlLocation = "gpu-alice" AND Cd4mlDecision = "rejected" AND StartTime > "2026-11-25T12:00:00.000Z"');
    expect(sinceDate('90m', NOW).toISOString()).toBe('2026-12-02T10:30:00.000Z');
    expect(sinceDate('2026-11-30', NOW).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(() => runsQuery({ kind: 'image', decision: 'accepted' }, NOW)).toThrow(/--location and --decision select trainings only/);
  });

  it('refuses bad values naming the flag and what it accepts', () => {
    expect(() => runsQuery({ kind: 'job' })).toThrow('--kind job: not a kind of run; one of train, sweep, image');
    expect(() => runsQuery({ decision: 'ok' })).toThrow('--decision ok: not a decision; one of accepted, rejected, failed, cancelled');
    expect(() => runsQuery({ since: 'yesterday' })).toThrow(/--since yesterday: not a time span or date/);
    expect(() => runsQuery({ location: 'a" OR "b' })).toThrow(/not a location name/);
  });

  it('prints cost and duration in readable units', () => {
    const out = renderRuns([
      { id: 'sweep/p/v2', kind: 'sweep', state: 'completed', decision: 'released', startedAt: new Date(NOW), seconds: 5400, cost: 1.234 },
      { id: 'train/p/v1', kind: 'train', state: 'running', startedAt: new Date(NOW), seconds: 12.34 },
    ]);
    expect(out.split('\n')).toEqual([
      'id          kind   state      decision  metric  duration  cost   started',
      'sweep/p/v2  sweep  completed  released  -       90.0 min  $1.23  2026-12-02 12:00:00',
      'train/p/v1  train  running    -         -       12.3 s    -      2026-12-02 12:00:00',
    ]);
    expect(renderRuns([])).toBe('no runs match');
  });
});
