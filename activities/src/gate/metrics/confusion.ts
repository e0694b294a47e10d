// Finalizers of the confusion-table metrics. A class counts only if it occurs
// (in the truth for balanced accuracy; in the truth or the predictions for F1),
// as scikit-learn infers its label set from the data: so a class a resample did
// not draw drops out instead of scoring 0.

/** Mean recall over the classes present in the truth (sklearn's balanced_accuracy_score, adjusted=False). */
export function balancedAccuracy(table: Float64Array, k: number): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    let truth = 0;
    for (let p = 0; p < k; p++) truth += table[c * k + p]!;
    if (truth > 0) {
      sum += table[c * k + c]! / truth;
      present++;
    }
  }
  return present ? sum / present : NaN;
}

/**
 * Unweighted mean of per-class F1 = 2 tp / (true + predicted) over the classes
 * that occur; a class predicted but never true (or true but never predicted)
 * scores 0, sklearn's default zero_division.
 */
export function f1Macro(table: Float64Array, k: number): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    let truth = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      truth += table[c * k + j]!;
      predicted += table[j * k + c]!;
    }
    if (truth + predicted > 0) {
      sum += (2 * table[c * k + c]!) / (truth + predicted);
      present++;
    }
  }
  return present ? sum / present : NaN;
}
