import type { ClassificationMetric } from '@cd4ml/contracts';
import { balancedAccuracy, f1Macro } from './confusion.ts';
import { classIndexes, probabilityEps, probabilityMatrix, type ClassificationOutputs, type ClassificationTruth } from './inputs.ts';
import { fail, ok, type Outcome } from './outcome.ts';
import type { ColumnStatistics, ConfusionStatistics } from './row-statistics.ts';

// Per-row statistics of the classification metrics that need no ordering
// (roc_auc is in roc-auc.ts).

const meanOf = (sums: ArrayLike<number>, total: number): number => (total > 0 ? sums[0]! / total : NaN);

function labelsAndPredictions(truth: ClassificationTruth, outputs: ClassificationOutputs, metric: string): Outcome<[Int32Array, Int32Array]> {
  const k = truth.classes.length;
  const rows = truth.labels.length;
  const labels = classIndexes(truth.labels, k, rows, 'label');
  if (!labels.ok) return labels;
  if (!outputs.predicted) return fail(`${metric} needs predicted labels`);
  const predicted = classIndexes(outputs.predicted, k, rows, 'predicted label');
  if (!predicted.ok) return predicted;
  return ok([labels.value, predicted.value]);
}

export function accuracyStatistics(truth: ClassificationTruth, outputs: ClassificationOutputs): Outcome<ColumnStatistics> {
  const both = labelsAndPredictions(truth, outputs, 'accuracy');
  if (!both.ok) return both;
  const [labels, predicted] = both.value;
  const correct = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) correct[i] = labels[i] === predicted[i] ? 1 : 0;
  return ok({ kind: 'columns', metric: 'accuracy', rows: labels.length, columns: [correct], mean: true, indicator: true, finalize: meanOf });
}

/** Per-row loss -log(p of the true class), p clipped to [eps, 1 - eps] with eps of the probabilities' type (sklearn >= 1.5). */
export function logLossStatistics(truth: ClassificationTruth, outputs: ClassificationOutputs): Outcome<ColumnStatistics> {
  const k = truth.classes.length;
  const rows = truth.labels.length;
  if (k < 2) return fail(`log_loss needs at least 2 classes, holdout has ${k}`);
  const labels = classIndexes(truth.labels, k, rows, 'label');
  if (!labels.ok) return labels;
  const probs = probabilityMatrix(outputs.probabilities, rows, k, 'log_loss');
  if (!probs.ok) return probs;
  const eps = probabilityEps(outputs);
  const loss = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const p = probs.value[i * k + labels.value[i]!]!;
    loss[i] = -Math.log(Math.min(Math.max(p, eps), 1 - eps));
  }
  return ok({ kind: 'columns', metric: 'log_loss', rows, columns: [loss], mean: true, finalize: meanOf });
}

export function confusionStatistics(
  metric: Extract<ClassificationMetric, 'balanced_accuracy' | 'f1_macro'>,
  truth: ClassificationTruth,
  outputs: ClassificationOutputs,
): Outcome<ConfusionStatistics> {
  const both = labelsAndPredictions(truth, outputs, metric);
  if (!both.ok) return both;
  const [labels, predicted] = both.value;
  const k = truth.classes.length;
  const cells = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) cells[i] = labels[i]! * k + predicted[i]!;
  const score = metric === 'balanced_accuracy' ? balancedAccuracy : f1Macro;
  return ok({ kind: 'confusion', metric, rows: labels.length, classes: k, cells, finalize: (table) => score(table, k) });
}
