import type { Check, GateConfig } from '@cd4ml/contracts';
import { classBalanceCheck, probabilityRangeCheck, probabilitySumCheck } from './checks.ts';
import { finitePredictionsCheck, predictionRangeCheck, residualBiasCheck } from './regression-checks.ts';
import type { HoldoutTruth } from './holdout-truth.ts';
import type { TaskOutputs } from './model-outputs.ts';

/** The names of the task's sanity checks, so a model that gives no usable outputs fails each of them by name. */
export const SANITY_CHECKS = {
  classification: ['probabilities-in-range', 'probabilities-sum-to-one', 'class-balance'],
  regression: ['finite-predictions', 'prediction-range', 'residual-bias'],
} as const;

/** Each of the task's sanity checks failed with the same reason (the outputs could not be read). */
export const sanityFailed = (task: HoldoutTruth['task'], detail: string): Check[] =>
  SANITY_CHECKS[task].map((name) => ({ name, passed: false, detail }));

/** The sanity checks of the candidate's holdout outputs, per task kind. */
export function sanityChecks(truth: HoldoutTruth, model: TaskOutputs, gate: GateConfig): Check[] {
  if (truth.task === 'regression' && model.task === 'regression') {
    const { predictions } = model.outputs;
    return [
      finitePredictionsCheck(predictions),
      predictionRangeCheck(predictions, truth.targetRange, gate.predictionBand),
      residualBiasCheck(truth.targets, predictions, gate.residualBiasTolerance),
    ];
  }
  if (truth.task === 'classification' && model.task === 'classification') {
    const { probabilities, predicted } = model.outputs;
    const rows = truth.labels.length;
    const k = truth.classes.length;
    const noProbabilities = `the model has no probabilities output '${gate.probabilitiesOutput}'`;
    return [
      probabilities ? probabilityRangeCheck(probabilities, rows, k) : { name: 'probabilities-in-range', passed: false, detail: noProbabilities },
      probabilities ? probabilitySumCheck(probabilities, rows, k, gate.probabilitySumTolerance) : { name: 'probabilities-sum-to-one', passed: false, detail: noProbabilities },
      classBalanceCheck(Array.from(predicted), Array.from(truth.labels), truth.classes, gate.classBalanceTolerance),
    ];
  }
  return sanityFailed(truth.task, `the model's outputs are not those of a ${truth.task} model`);
}
