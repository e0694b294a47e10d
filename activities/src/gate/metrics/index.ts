import { CLASSIFICATION_METRICS, REGRESSION_METRICS, type GateMetric, type RegressionMetric } from '@cd4ml/contracts';
import { accuracyStatistics, confusionStatistics, logLossStatistics } from './classification.ts';
import type { ClassificationOutputs, Outputs, RegressionOutputs, Truth } from './inputs.ts';
import { fail, ok, type Outcome } from './outcome.ts';
import { regressionStatistics } from './regression.ts';
import { rocAucStatistics, weightedRocAuc } from './roc-auc.ts';
import {
  cellScratchSize, totalWeight, unitCounts, weightedCells, weightedColumnSums, type Counts, type RowStatistics,
} from './row-statistics.ts';

// The metrics cd4ml computes itself on the holdout, with scikit-learn 1.9's
// semantics. metricStatistics reduces the data to per-row statistics once;
// weightedMetric finalizes them for the holdout as is or for a resample.

export type { Outcome } from './outcome.ts';
export type * from './inputs.ts';
export type { ColumnStatistics, ConfusionStatistics, Counts, RankStatistics, RowStatistics } from './row-statistics.ts';
export { cellScratchSize, unitCounts, weightedCells, weightedColumnSums } from './row-statistics.ts';
export { weightedRocAuc } from './roc-auc.ts';

const isClassification = (m: string): boolean => (CLASSIFICATION_METRICS as readonly string[]).includes(m);
const isRegression = (m: string): boolean => (REGRESSION_METRICS as readonly string[]).includes(m);

/** The per-row statistics of `metric` for one model's outputs on the holdout truth, or what is wrong with the data. */
export function metricStatistics(metric: GateMetric, truth: Truth, outputs: Outputs): Outcome<RowStatistics> {
  if (!isClassification(metric) && !isRegression(metric)) return fail(`unknown metric "${metric}"`);
  const rows = truth.task === 'classification' ? truth.labels.length : truth.targets.length;
  if (rows === 0) return fail(`${metric}: the holdout has no rows`);
  if (truth.task === 'regression') {
    if (!isRegression(metric)) return fail(`${metric} is a classification metric; the holdout is a regression one`);
    const predictions = (outputs as RegressionOutputs).predictions;
    if (!predictions) return fail(`${metric} needs predictions`);
    return regressionStatistics(metric as RegressionMetric, truth, { predictions });
  }
  if (!isClassification(metric)) return fail(`${metric} is a regression metric; the holdout is a classification one`);
  const out = outputs as ClassificationOutputs;
  switch (metric) {
    case 'accuracy': return accuracyStatistics(truth, out);
    case 'log_loss': return logLossStatistics(truth, out);
    case 'roc_auc': return rocAucStatistics(truth, out);
    default: return confusionStatistics(metric as 'balanced_accuracy' | 'f1_macro', truth, out);
  }
}

/** The metric with row i counted counts[i] times (null: every row once); NaN where it is undefined for those rows. */
export function weightedMetric(stats: RowStatistics, counts: Counts | null = null): number {
  const w = counts ?? unitCounts(stats.rows);
  if (w.length !== stats.rows) return NaN;
  switch (stats.kind) {
    case 'columns': {
      const sums = new Float64Array(stats.columns.length);
      weightedColumnSums(w, stats.columns, sums);
      return stats.finalize(sums, totalWeight(w));
    }
    case 'confusion': {
      const table = new Float64Array(stats.classes * stats.classes);
      weightedCells(w, stats.cells, table, new Float64Array(cellScratchSize(table.length)));
      return stats.finalize(table);
    }
    case 'ranked': return weightedRocAuc(stats, w);
  }
}

/** The metric of one model on the holdout, as scikit-learn computes it, or what is wrong with the data. */
export function computeMetric(metric: GateMetric, truth: Truth, outputs: Outputs): Outcome<number> {
  const stats = metricStatistics(metric, truth, outputs);
  return stats.ok ? ok(weightedMetric(stats.value)) : stats;
}
