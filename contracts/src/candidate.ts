import { z } from 'zod';
import { BulkTensor, Tensor } from './tensor.ts';

// What an ML project's DVC pipeline must leave behind for cd4ml to gate it.
// Paths are set in cd4ml.yaml (`outputs`); these are the file formats.

/** metrics.json: named scalar metrics plus the per-fold cross-validation scores. */
export const MetricsFile = z
  .object({ folds: z.array(z.number()).min(2, 'at least 2 cross-validation folds') })
  .catchall(z.union([z.number(), z.array(z.number())]));
export type MetricsFile = z.infer<typeof MetricsFile>;

/** smoke.json: inputs and the outputs the training framework computed for them. */
export const SmokeSet = z.object({
  inputs: z.array(Tensor).min(1),
  expectedOutputs: z.array(Tensor).min(1),
  tolerance: z.number().nonnegative(),
});
export type SmokeSet = z.infer<typeof SmokeSet>;

/**
 * holdout.json: rows the model never saw, with the truth for each. Which truth
 * fields are needed follows the gate's task (`gate.task` in cd4ml.yaml), and the
 * gate checks them, so a holdout of the wrong kind fails a check naming the field
 * instead of the whole file:
 * - classification: `classes` (names, index order) and `labels` (class indexes);
 * - regression: `targets` (numbers) and, for the prediction-range check,
 *   `targetRange`, the training set's target range.
 */
export const HoldoutSet = z.object({
  features: z.array(z.string()).min(1),
  inputs: z.array(BulkTensor).min(1),
  classes: z.array(z.string()).optional(),
  labels: z.array(z.unknown()).optional(),
  targets: z.array(z.unknown()).optional(),
  targetRange: z.object({ min: z.number(), max: z.number() }).optional(),
});
export type HoldoutSet = z.infer<typeof HoldoutSet>;

/**
 * A candidate staged by a location for the gate: a folder (or prefix) in the
 * release store holding the files below. Only this reference travels through
 * workflow history, never the files.
 */
export const CandidateRef = z.object({
  store: z.string(),
  /** Folder of the candidate relative to the store root, e.g. penguins/.candidates/v1.4 */
  key: z.string(),
  files: z.object({
    model: z.string(),
    metrics: z.string(),
    smoke: z.string(),
    holdout: z.string(),
  }),
  model: z.object({ sha256: z.string(), bytes: z.number().int() }),
  /** DVC output hashes of the tracked data and models, from dvc.lock. */
  data: z.record(z.string(), z.string()),
  params: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), z.union([z.number(), z.array(z.number())])),
});
export type CandidateRef = z.infer<typeof CandidateRef>;
