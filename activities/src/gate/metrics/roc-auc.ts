import { classIndexes, probabilityMatrix, type ClassificationOutputs, type ClassificationTruth } from './inputs.ts';
import { fail, ok, type Outcome } from './outcome.ts';
import type { Counts, RankStatistics } from './row-statistics.ts';

// Binary ROC AUC on the positive class's probability (column 1). Rows are
// sorted by score once; under any row weights the area is then one pass:
//   AUC = sum over negatives of (positives scored higher + half the tied positives) / (P x N),
// which is exactly the trapezoidal area under sklearn's ROC curve, ties included.
// The pass treats all scores as distinct (no branch on the data); runs of tied
// scores then get a correction from a second pass over those rows only.

export function rocAucStatistics(truth: ClassificationTruth, outputs: ClassificationOutputs): Outcome<RankStatistics> {
  const k = truth.classes.length;
  const rows = truth.labels.length;
  if (k !== 2) return fail(`roc_auc needs exactly 2 classes, holdout has ${k}`);
  const labels = classIndexes(truth.labels, k, rows, 'label');
  if (!labels.ok) return labels;
  const probs = probabilityMatrix(outputs.probabilities, rows, k, 'roc_auc');
  if (!probs.ok) return probs;
  let positives = 0;
  for (let i = 0; i < rows; i++) positives += labels.value[i]!;
  if (positives === 0 || positives === rows) {
    return fail(`roc_auc needs rows of both classes; all ${rows} holdout rows are class ${labels.value[0]} (${truth.classes[labels.value[0]!]})`);
  }
  const score = new Float64Array(rows);
  for (let i = 0; i < rows; i++) score[i] = probs.value[2 * i + 1]!;
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]! || a - b);
  const positive = new Float64Array(rows);
  const ties: number[] = [];
  let start = 0;
  for (let j = 0; j < rows; j++) {
    positive[j] = labels.value[order[j]!]!;
    if (j + 1 < rows && score[order[j + 1]!] === score[order[j]!]) continue;
    if (j > start) ties.push(start, j + 1);
    start = j + 1;
  }
  return ok({ kind: 'ranked', metric: 'roc_auc', rows, order, positive, ties: Int32Array.from(ties) });
}

/**
 * What the distinct-scores pass got wrong on tied runs: it counted each
 * (positive, negative) pair inside a run as ordered by sorted position (1 if
 * the positive came first, else 0) where it is a tie worth 1/2.
 */
function tieCorrection(s: RankStatistics, counts: Counts): number {
  const { order, positive, ties } = s;
  let correction = 0;
  for (let g = 0; g < ties.length; g += 2) {
    let p = 0;
    let n = 0;
    let counted = 0;
    for (let j = ties[g]!; j < ties[g + 1]!; j++) {
      const w = counts[order[j]!]!;
      const pw = w * positive[j]!;
      counted += (w - pw) * p;
      p += pw;
      n += w - pw;
    }
    correction += (p * n) / 2 - counted;
  }
  return correction;
}

/** The area under row weights; NaN when the weighted rows hold one class only (sklearn: undefined). */
export function weightedRocAuc(s: RankStatistics, counts: Counts): number {
  const { order, positive } = s;
  let above = 0;
  let area = 0;
  let total = 0;
  for (let j = 0; j < order.length; j++) {
    const w = counts[order[j]!]!;
    const p = w * positive[j]!;
    area += (w - p) * above;
    above += p;
    total += w;
  }
  if (s.ties.length) area += tieCorrection(s, counts);
  const negatives = total - above;
  return above > 0 && negatives > 0 ? area / (above * negatives) : NaN;
}
