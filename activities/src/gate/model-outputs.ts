import type { GateConfig } from '@cd4ml/contracts';
import { shapeText, type TypedTensor } from '@cd4ml/onnx';
import type { ClassificationOutputs, RegressionOutputs } from './metrics/index.ts';
import { fail, ok, type Outcome } from './metrics/outcome.ts';
import type { HoldoutTruth } from './holdout-truth.ts';

// A model's holdout outputs in the form the task's metrics and checks read:
// predicted class indexes and probabilities, or one prediction per row. A model
// whose outputs do not fit the task is a problem naming the output and what
// was expected, never a crash.

export type TaskOutputs =
  | { task: 'classification'; outputs: ClassificationOutputs & { predicted: Int32Array } }
  | { task: 'regression'; outputs: RegressionOutputs & { predictions: Float64Array } };

const names = (out: readonly TypedTensor[]) => out.map((t) => t.name).join(', ') || 'none';

const asNumbers = (t: TypedTensor): ArrayLike<number> | null => {
  const d = t.data;
  if (Array.isArray(d)) return null;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, Number);
  return d as ArrayLike<number>;
};

/** Predicted class indexes from the label output; a model that names its classes is mapped through holdout.classes. */
function predictedLabels(t: TypedTensor, classes: readonly string[], rows: number): Outcome<Int32Array> {
  if (t.data.length !== rows) return fail(`${t.name} has ${t.data.length} values for ${rows} holdout rows`);
  const out = new Int32Array(rows);
  const numbers = asNumbers(t);
  for (let i = 0; i < rows; i++) {
    const v = numbers ? numbers[i]! : classes.indexOf(String((t.data as unknown[])[i]));
    if (!Number.isInteger(v) || v < 0 || v >= classes.length) {
      const shown = numbers ? String(v) : `'${String((t.data as unknown[])[i])}'`;
      return fail(`${t.name} at row ${i} is ${shown}, not one of the ${classes.length} holdout classes (0..${classes.length - 1})`);
    }
    out[i] = v;
  }
  return ok(out);
}

/** Row-wise argmax: the predicted class when a model gives probabilities only. */
function argmax(probs: ArrayLike<number>, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[r * k + c]! > probs[r * k + best]!) best = c;
    out[r] = best;
  }
  return out;
}

function classificationOutputs(out: readonly TypedTensor[], gate: GateConfig, classes: readonly string[], rows: number): Outcome<TaskOutputs> {
  const k = classes.length;
  const probs = out.find((t) => t.name === gate.probabilitiesOutput);
  const labels = out.find((t) => t.name === gate.labelOutput);
  if (!probs && !labels) {
    return fail(`the model has neither a label output '${gate.labelOutput}' nor a probabilities output '${gate.probabilitiesOutput}' (outputs: ${names(out)}); name them in gate.labelOutput and gate.probabilitiesOutput`);
  }
  let probabilities: ArrayLike<number> | undefined;
  if (probs) {
    const values = asNumbers(probs);
    if (!values || probs.shape.length !== 2 || probs.shape[0] !== rows || probs.shape[1] !== k) {
      return fail(`${probs.name} has shape ${shapeText(probs.shape)} (${probs.datatype}); expected numbers of shape [${rows}, ${k}]: one probability per holdout row and class`);
    }
    probabilities = values;
  }
  let predicted: Int32Array;
  if (labels) {
    const p = predictedLabels(labels, classes, rows);
    if (!p.ok) return p;
    predicted = p.value;
  } else {
    predicted = argmax(probabilities!, rows, k);
  }
  const probabilityDtype = probs?.datatype === 'FP32' ? 'FP32' as const : 'FP64' as const;
  return ok({ task: 'classification', outputs: { predicted, ...(probabilities ? { probabilities, probabilityDtype } : {}) } });
}

function regressionOutputs(out: readonly TypedTensor[], gate: GateConfig, rows: number): Outcome<TaskOutputs> {
  const t = out.find((o) => o.name === gate.predictionOutput);
  if (!t) return fail(`the model has no prediction output '${gate.predictionOutput}' (outputs: ${names(out)}); name it in gate.predictionOutput`);
  const values = asNumbers(t);
  const oneColumn = t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1);
  if (!values || !oneColumn || t.shape[0] !== rows) {
    return fail(`${t.name} has shape ${shapeText(t.shape)} (${t.datatype}); a regression model gives one number per holdout row: [${rows}] or [${rows}, 1]`);
  }
  return ok({ task: 'regression', outputs: { predictions: Float64Array.from(values) } });
}

/** The model's outputs for the task of the holdout's truth. */
export function taskOutputs(out: readonly TypedTensor[], gate: GateConfig, truth: HoldoutTruth): Outcome<TaskOutputs> {
  return truth.task === 'classification'
    ? classificationOutputs(out, gate, truth.classes, truth.labels.length)
    : regressionOutputs(out, gate, truth.targets.length);
}
