import type { HoldoutTruth } from './holdout-truth.ts';
import type { TaskOutputs } from './model-outputs.ts';
import { confusionMatrixPlot, regressionPlots, type ModelPredictions, type Plot } from './plots.ts';

const predictionsOf = (label: string, model: TaskOutputs): ModelPredictions => ({
  label, predicted: model.task === 'classification' ? model.outputs.predicted : model.outputs.predictions,
});

/** The report's pictures for the task: the candidate, and beside it the baseline on the same rows. */
export async function gatePlots(truth: HoldoutTruth, candidate: TaskOutputs, baseline: { tag: string; outputs: TaskOutputs } | null): Promise<Plot[]> {
  const models = [predictionsOf('candidate', candidate), ...(baseline ? [predictionsOf(`baseline ${baseline.tag}`, baseline.outputs)] : [])];
  return truth.task === 'classification'
    ? [await confusionMatrixPlot(truth.classes, truth.labels, models)]
    : regressionPlots(truth.targets, models);
}
