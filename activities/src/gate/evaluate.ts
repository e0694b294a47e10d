import { higherIsBetter } from '@cd4ml/contracts';
import type { Check, GateConfig, GateDecision, HoldoutSet, Metrics, MetricsFile, SmokeSet, Tensor } from '@cd4ml/contracts';
import {
  baselineCheck, classBalanceCheck, foldOutlierCheck, probabilityRangeCheck, probabilitySumCheck, smokeCheck,
} from './checks.ts';
import { fromJsonTensor, OnnxError, runModelOnce, toJsonTensor, type ModelSignature, type RunOnceOptions } from '@cd4ml/onnx';

export interface GateInput {
  modelPath: string;
  smoke: SmokeSet;
  holdout: HoldoutSet;
  metrics: MetricsFile;
  gate: GateConfig;
  baseline: { tag: string; metrics: Metrics } | null;
  /** The project's own checks, already run on the location. */
  customChecks?: Check[];
}

export type GateResult = GateDecision & { model: ModelSignature };

const specText = (s: { name: string; datatype: string; shape: number[] }): string => `${s.name} ${s.datatype}[${s.shape}]`;

const missingOutput = (name: string, what: string, outputs: Tensor[]): string =>
  `model has no ${what} output '${name}' (outputs: ${outputs.map((t) => t.name).join(', ') || 'none'})`;

/** The holdout checks that read the model's outputs. */
function holdoutChecks(out: Tensor[], holdout: HoldoutSet, gate: GateConfig): Check[] {
  const checks: Check[] = [];
  const probs = out.find((t) => t.name === gate.probabilitiesOutput);
  if (!probs) {
    const detail = missingOutput(gate.probabilitiesOutput, 'probabilities', out);
    checks.push({ name: 'probabilities-in-range', passed: false, detail }, { name: 'probabilities-sum-to-one', passed: false, detail });
  } else if (probs.shape.length !== 2) {
    const detail = `${gate.probabilitiesOutput} has shape [${probs.shape}], expected [rows, classes]`;
    checks.push({ name: 'probabilities-in-range', passed: false, detail }, { name: 'probabilities-sum-to-one', passed: false, detail });
  } else {
    const [rows, cols] = probs.shape as [number, number];
    const values = probs.data.map(Number);
    checks.push(
      probabilityRangeCheck(values, rows, cols),
      probabilitySumCheck(values, rows, cols, gate.probabilitySumTolerance),
    );
  }
  const labels = out.find((t) => t.name === gate.labelOutput);
  if (!labels) {
    checks.push({ name: 'class-balance', passed: false, detail: missingOutput(gate.labelOutput, 'label', out) });
  } else {
    // Labels are class indexes per the contract; a model emitting class names is mapped through holdout.classes.
    const classes = holdout.classes ?? [];
    const predicted = labels.data.map((v) => (typeof v === 'string' ? classes.indexOf(v) : Number(v)));
    checks.push(classBalanceCheck(predicted, (holdout.labels ?? []).map(Number), classes, gate.classBalanceTolerance));
  }
  return checks;
}

/** Gate a candidate model: every check runs and is reported; accepted only if all pass. Never throws for a bad model. */
export async function runGate(input: GateInput, opts?: RunOnceOptions): Promise<GateResult> {
  const { modelPath, smoke, holdout, metrics, gate, baseline } = input;
  const checks: Check[] = [];
  let model: ModelSignature = { inputs: [], outputs: [] };
  try {
    const started = Date.now();
    const run = await runModelOnce(modelPath, [smoke.inputs.map(fromJsonTensor), holdout.inputs.map(fromJsonTensor)], opts);
    model = run.model;
    const [smokeOut = [], holdoutOut = []] = run.results.map((outputs) => outputs.map(toJsonTensor));
    checks.push(
      { name: 'model-loads', passed: true, detail: `inputs ${model.inputs.map(specText).join(', ')}; outputs ${model.outputs.map(specText).join(', ')}` },
      { name: 'model-runs', passed: true, detail: `smoke and ${holdout.labels?.length ?? holdout.targets?.length ?? 0} holdout rows in ${Date.now() - started} ms` },
      smokeCheck(smokeOut, smoke),
      ...holdoutChecks(holdoutOut, holdout, gate),
    );
  } catch (err) {
    if (err instanceof OnnxError && err.phase === 'run') {
      model = err.model ?? model;
      const expects = err.model ? ` (model inputs: ${err.model.inputs.map(specText).join(', ')})` : '';
      checks.push(
        { name: 'model-loads', passed: true, detail: `outputs ${model.outputs.map(specText).join(', ')}` },
        { name: 'model-runs', passed: false, detail: `${err.message}${expects}` },
      );
    } else {
      checks.push({ name: 'model-loads', passed: false, detail: err instanceof Error ? err.message : String(err) });
    }
  }
  // Metric checks do not need the model; run them anyway so the report is complete.
  checks.push(
    foldOutlierCheck(metrics.folds, gate.foldOutlierMaxDeviation),
    baselineCheck(gate.metric, metrics[gate.metric], baseline && { tag: baseline.tag, value: baseline.metrics[gate.metric] }, higherIsBetter(gate), gate.margin),
    ...(input.customChecks ?? []),
  );
  const failed = checks.filter((c) => !c.passed);
  return {
    accepted: failed.length === 0,
    reasons: failed.map((c) => `${c.name}: ${c.detail}`),
    checks,
    metrics: { ...metrics },
    baseline,
    model,
  };
}
