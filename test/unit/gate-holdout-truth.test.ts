import { describe, expect, it } from 'vitest';
import type { TaskKind } from '@cd4ml/contracts';
import { holdoutTruth } from '@cd4ml/activities/gate/holdout-truth';

type Holdout = Parameters<typeof holdoutTruth>[1];

const classes = ['Adelie', 'Chinstrap', 'Gentoo'];
const labels = [0, 2, 1, 1, 0, 2];
const targets = [3.5, -1, 0, 12.25, 7, 7];

describe('holdoutTruth', () => {
  it('gives a classification holdout as class names and Int32 labels', () => {
    expect(holdoutTruth('classification', { classes, labels }, 6, 2)).toEqual({
      ok: true, value: { task: 'classification', classes, labels: Int32Array.from(labels) },
    });
  });
  it('gives a regression holdout as Float64 targets with the target range', () => {
    expect(holdoutTruth('regression', { targets, targetRange: { min: -5, max: 20 } }, 6, 2)).toEqual({
      ok: true, value: { task: 'regression', targets: Float64Array.from(targets), targetRange: { min: -5, max: 20 } },
    });
    expect(holdoutTruth('regression', { targets }, 6, 2)).toEqual({ ok: true, value: { task: 'regression', targets: Float64Array.from(targets) } });
  });
  it.each<[string, TaskKind, Holdout, string]>([
    ['labels that are class names', 'classification', { classes, labels: [0, 1, 2, 1, 'Adelie', 0] },
      "holdout.json labels[4]: 'Adelie' is not a class index 0..2 (labels hold indexes into classes: 'Adelie' is 0)"],
    ['a label out of range', 'classification', { classes, labels: [0, 1, 3, 1, 0, 0] }, 'holdout.json labels[2]: 3 is not a class index 0..2'],
    ['a fractional label', 'classification', { classes, labels: [0, 1.5, 2, 1, 0, 0] }, 'holdout.json labels[1]: 1.5 is not a class index 0..2'],
    ['a null label', 'classification', { classes, labels: [0, 1, 2, null, 0, 0] }, 'holdout.json labels[3]: null is not a class index 0..2'],
    ['no labels', 'classification', { classes }, 'holdout.json labels: missing; a classification holdout needs a class index per row'],
    ['no classes', 'classification', { labels }, 'holdout.json classes: missing; a classification holdout needs the class names in index order'],
    ['a regression holdout gated as classification', 'classification', { targets },
      'holdout.json classes: missing; a classification holdout needs the class names in index order (it has targets: is gate.task right?)'],
    ['one class', 'classification', { classes: ['Adelie'], labels: [0, 0, 0, 0, 0, 0] }, 'holdout.json classes: expected at least 2 class names, got 1'],
    ['a class named twice', 'classification', { classes: ['Adelie', 'Gentoo', 'Adelie'], labels }, "holdout.json classes: 'Adelie' appears twice"],
    ['labels for fewer rows', 'classification', { classes, labels: labels.slice(1) }, 'holdout.json has 5 labels for 6 rows'],
    ['string targets', 'regression', { targets: ['3.5', '1', '0', '2', '7', '7'] }, 'holdout.json targets: expected numbers for a regression holdout, got strings'],
    ['a null target', 'regression', { targets: [1, 2, null, 3, 4, 5] }, 'holdout.json targets[2]: expected a number, got null'],
    ['a string among the targets', 'regression', { targets: [1, 2, 3, 'x', 4, 5] }, "holdout.json targets[3]: expected a number, got 'x'"],
    ['no targets', 'regression', {}, 'holdout.json targets: missing; a regression holdout needs a target per row'],
    ['a classification holdout gated as regression', 'regression', { classes, labels },
      'holdout.json targets: missing; a regression holdout needs a target per row (it has labels or classes: is gate.task right?)'],
    ['targets for more rows', 'regression', { targets: [...targets, 1] }, 'holdout.json has 7 targets for 6 rows'],
    ['an inverted target range', 'regression', { targets, targetRange: { min: 5, max: 3 } }, 'holdout.json targetRange: min 5 is above max 3'],
  ])('refuses %s', (_what, task, holdout, error) => {
    expect(holdoutTruth(task, holdout, 6, 2)).toEqual({ ok: false, error });
  });
  it('refuses fewer rows than gate.minRows', () => {
    const twelve = { classes, labels: new Array(12).fill(1) };
    expect(holdoutTruth('classification', twelve, 12, 20)).toEqual({
      ok: false, error: 'holdout.json has 12 rows; the gate needs at least 20 (gate.minRows)',
    });
    expect(holdoutTruth('classification', twelve, 12, 12).ok).toBe(true);
  });
});
