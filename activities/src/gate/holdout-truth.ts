import type { HoldoutSet, TaskKind } from '@cd4ml/contracts';
import { fail, ok, type Outcome } from './metrics/outcome.ts';

// holdout.json's truth, checked for the gate's task before any metric runs.
// The schema types labels and targets as unknown[] on purpose: a holdout of the
// wrong kind (class names instead of indexes, strings instead of numbers) is
// reported here naming the file, the field and what was expected.

export type HoldoutTruth =
  | { task: 'classification'; classes: string[]; labels: Int32Array }
  | { task: 'regression'; targets: Float64Array; targetRange?: { min: number; max: number } };

type Truth = Pick<HoldoutSet, 'classes' | 'labels' | 'targets' | 'targetRange'>;

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));

function classificationTruth(h: Truth, rows: number): Outcome<HoldoutTruth> {
  const wrongTask = h.targets ? ' (it has targets: is gate.task right?)' : '';
  if (!h.classes) return fail(`holdout.json classes: missing; a classification holdout needs the class names in index order${wrongTask}`);
  const k = h.classes.length;
  if (k < 2) return fail(`holdout.json classes: expected at least 2 class names, got ${k}`);
  const twice = h.classes.find((c, i) => h.classes!.indexOf(c) !== i);
  if (twice !== undefined) return fail(`holdout.json classes: '${twice}' appears twice`);
  if (!h.labels) return fail(`holdout.json labels: missing; a classification holdout needs a class index per row${wrongTask}`);
  const labels = new Int32Array(h.labels.length);
  for (let i = 0; i < h.labels.length; i++) {
    const v = h.labels[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= k) {
      const named = typeof v === 'string' ? h.classes.indexOf(v) : -1;
      const hint = named >= 0 ? ` (labels hold indexes into classes: '${v}' is ${named})` : '';
      return fail(`holdout.json labels[${i}]: ${show(v)} is not a class index 0..${k - 1}${hint}`);
    }
    labels[i] = v;
  }
  if (labels.length !== rows) return fail(`holdout.json has ${labels.length} labels for ${rows} rows`);
  return ok({ task: 'classification', classes: [...h.classes], labels });
}

function regressionTruth(h: Truth, rows: number): Outcome<HoldoutTruth> {
  if (!h.targets) {
    const wrongTask = h.labels || h.classes ? ' (it has labels or classes: is gate.task right?)' : '';
    return fail(`holdout.json targets: missing; a regression holdout needs a target per row${wrongTask}`);
  }
  if (h.targets.length > 0 && h.targets.every((v) => typeof v === 'string')) {
    return fail('holdout.json targets: expected numbers for a regression holdout, got strings');
  }
  const targets = new Float64Array(h.targets.length);
  for (let i = 0; i < h.targets.length; i++) {
    const v = h.targets[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`holdout.json targets[${i}]: expected a number, got ${show(v)}`);
    targets[i] = v;
  }
  if (targets.length !== rows) return fail(`holdout.json has ${targets.length} targets for ${rows} rows`);
  const range = h.targetRange;
  if (range && !(range.min <= range.max)) return fail(`holdout.json targetRange: min ${range.min} is above max ${range.max}`);
  return ok({ task: 'regression', targets, ...(range ? { targetRange: { min: range.min, max: range.max } } : {}) });
}

/**
 * The holdout's truth as typed arrays for `task`, or the problem with it.
 * `rows` is the number of holdout rows (the inputs' first dimension); the gate
 * needs at least `minRows` (gate.minRows) of them for its statistics.
 */
export function holdoutTruth(task: TaskKind, holdout: Truth, rows: number, minRows: number): Outcome<HoldoutTruth> {
  const truth = task === 'classification' ? classificationTruth(holdout, rows) : regressionTruth(holdout, rows);
  if (!truth.ok) return truth;
  if (rows < minRows) return fail(`holdout.json has ${rows} rows; the gate needs at least ${minRows} (gate.minRows)`);
  return truth;
}
