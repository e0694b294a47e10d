import { z } from 'zod';

// The gate's vocabulary: which task a project's model solves, the metrics cd4ml
// computes itself from the model's outputs, and how it decides. Defaults keep a
// cd4ml.yaml written before these keys a classification gate with `not-worse`.

export const TaskKind = z.enum(['classification', 'regression']);
export type TaskKind = z.infer<typeof TaskKind>;

/** Metrics cd4ml computes from the model's holdout outputs, per task. Names follow scikit-learn's. */
export const CLASSIFICATION_METRICS = ['accuracy', 'balanced_accuracy', 'f1_macro', 'log_loss', 'roc_auc'] as const;
export const REGRESSION_METRICS = ['rmse', 'mae', 'r2'] as const;
export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];
export type GateMetric = ClassificationMetric | RegressionMetric;

/** Whether a larger value of the metric is better. */
export const HIGHER_IS_BETTER: Record<GateMetric, boolean> = {
  accuracy: true, balanced_accuracy: true, f1_macro: true, log_loss: false, roc_auc: true,
  rmse: false, mae: false, r2: true,
};

export const metricsFor = (task: TaskKind): readonly GateMetric[] =>
  task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;

const duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'a duration such as 90s, 15m or 2h');

/** A project's own check: a command run in the checkout after `dvc repro`, answering with JSON. */
export const CustomCheckConfig = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" or "-"'),
  /** Run with `sh -c` in the project folder (inside the training image when there is one). */
  run: z.string().min(1),
  timeout: duration.default('10m'),
}).strict();
export type CustomCheckConfig = z.infer<typeof CustomCheckConfig>;

/** What a custom check prints on stdout (its last JSON object). */
export const CustomCheckAnswer = z.object({
  passed: z.boolean(),
  detail: z.string().default(''),
  figures: z.record(z.string(), z.number()).optional(),
});
export type CustomCheckAnswer = z.infer<typeof CustomCheckAnswer>;

export const GatePolicy = z.enum(['not-worse', 'better']);
export type GatePolicy = z.infer<typeof GatePolicy>;

export const GateConfig = z.object({
  task: TaskKind.default('classification'),
  /** The metric the decision is taken on, computed by cd4ml on the holdout (see CLASSIFICATION_METRICS, REGRESSION_METRICS). */
  metric: z.string().default('accuracy'),
  /** Implied by the metric; a value that contradicts it is refused. Kept so older files stay valid. */
  higherIsBetter: z.boolean().optional(),
  /**
   * not-worse: the candidate may be worse than the release by at most `margin` (upper
   * bound of the loss, at `confidence`). better: the improvement must be significant.
   */
  policy: GatePolicy.default('not-worse'),
  /** In the metric's units: how much worse than the baseline the candidate may be (not-worse). */
  margin: z.number().nonnegative().default(0.02),
  /** Two-sided level of the paired bootstrap interval of the difference. */
  confidence: z.number().gt(0.5).lt(1).default(0.95),
  bootstrap: z.object({
    resamples: z.number().int().min(100).max(100_000).default(1000),
    seed: z.number().int().nonnegative().default(1),
  }).strict().default({ resamples: 1000, seed: 1 }),
  /** Fewest holdout rows the statistics accept. */
  minRows: z.number().int().min(2).default(20),
  /** Key in metrics.json holding the training code's own figure for `metric` (default: the metric's name). */
  reportedMetric: z.string().optional(),
  /** How far the reported figure may be from cd4ml's own before `reported-metric` fails, relative to max(1, |cd4ml's figure|). */
  reportedMetricTolerance: z.number().nonnegative().default(0.005),
  /** A fold whose score is further than this from the median fold is an outlier. */
  foldOutlierMaxDeviation: z.number().positive().default(0.1),

  // classification
  /**
   * Per class, how far the predicted count on the holdout may be from the true count:
   * max(this x true count, sqrt(true count)), since counts vary by about sqrt(n) on small holdouts.
   */
  classBalanceTolerance: z.number().positive().default(0.1),
  probabilitySumTolerance: z.number().positive().default(1e-3),
  /** Names of the model outputs holding class probabilities and the predicted label. */
  probabilitiesOutput: z.string().default('probabilities'),
  labelOutput: z.string().default('label'),

  // regression
  /** The model output holding the prediction: shape [rows] or [rows, 1]. */
  predictionOutput: z.string().default('prediction'),
  /** Predictions must lie within the training target range widened by this fraction of it on each side. */
  predictionBand: z.number().nonnegative().default(0.5),
  /** |mean residual| may be at most this times the standard deviation of the holdout targets. */
  residualBiasTolerance: z.number().positive().default(0.25),

  checks: z.array(CustomCheckConfig).default([]),
}).strict().superRefine((g, ctx) => {
  const allowed = metricsFor(g.task);
  if (!(allowed as readonly string[]).includes(g.metric)) {
    ctx.addIssue({
      code: 'custom', path: ['metric'],
      message: `"${g.metric}" is not a ${g.task} metric cd4ml computes; use one of ${allowed.join(', ')}` +
        (g.task === 'classification' && (REGRESSION_METRICS as readonly string[]).includes(g.metric) ? ' (or set gate.task: regression)' : ''),
    });
    return;
  }
  const implied = HIGHER_IS_BETTER[g.metric as GateMetric];
  if (g.higherIsBetter !== undefined && g.higherIsBetter !== implied) {
    ctx.addIssue({
      code: 'custom', path: ['higherIsBetter'],
      message: `${g.metric} is ${implied ? 'higher' : 'lower'}-is-better; remove higherIsBetter (it follows from the metric)`,
    });
  }
  const names = g.checks.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) ctx.addIssue({ code: 'custom', path: ['checks'], message: `two checks are named "${dup}"` });
});
export type GateConfig = z.infer<typeof GateConfig>;
export type GateConfigInput = z.input<typeof GateConfig>;

/** Whether higher values of the gate's metric are better (from the metric itself). */
export const higherIsBetter = (gate: Pick<GateConfig, 'metric'>): boolean =>
  HIGHER_IS_BETTER[gate.metric as GateMetric] ?? true;
