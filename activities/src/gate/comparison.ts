import { higherIsBetter, metricsFor, type Check, type GateComparison, type GateConfig, type GateMetric, type Metrics } from '@cd4ml/contracts';
import { formatNumber as fmt } from '@cd4ml/onnx';
import { baselineCheck } from './checks.ts';
import { decide } from './decide.ts';
import type { HoldoutTruth } from './holdout-truth.ts';
import { computeMetric } from './metrics/index.ts';
import type { Outcome } from './metrics/outcome.ts';
import type { TaskOutputs } from './model-outputs.ts';
import { bootstrapMetric, mcnemarExact } from './statistics/index.ts';

// Champion against challenger: the gate's own figures for both models on the
// candidate's holdout rows, the check that the training code's figure agrees,
// and the statistical decision on the paired difference.

/** Every metric of the task that these outputs allow (log_loss needs probabilities, roc_auc two classes). */
export function measuredMetrics(truth: HoldoutTruth, model: TaskOutputs): Metrics {
  const out: Metrics = {};
  for (const metric of metricsFor(truth.task)) {
    const r = computeMetric(metric, truth, model.outputs);
    if (r.ok && Number.isFinite(r.value)) out[metric] = r.value;
  }
  return out;
}

/** The gate's metric of one model, or why it cannot be computed. */
export const gateMetric = (gate: GateConfig, truth: HoldoutTruth, model: TaskOutputs): Outcome<number> =>
  computeMetric(gate.metric as GateMetric, truth, model.outputs);

/**
 * metrics.json's figure against cd4ml's own on the same rows: a buggy or
 * optimistic evaluate stage is caught here. Tolerance relative to max(1, |own|).
 */
export function reportedMetricCheck(gate: GateConfig, own: Outcome<number>, reported: Metrics, rows: number): Check {
  const name = 'reported-metric';
  const key = gate.reportedMetric ?? gate.metric;
  if (!own.ok) return { name, passed: false, detail: `cd4ml could not measure ${gate.metric} on the holdout: ${own.error}` };
  const r = reported[key];
  if (r === undefined) return { name, passed: true, detail: `metrics.json reports no ${key}; cd4ml measured ${gate.metric} ${fmt(own.value)} on ${rows} holdout rows` };
  if (typeof r !== 'number' || !Number.isFinite(r)) return { name, passed: false, detail: `metrics.json ${key} is ${JSON.stringify(r)}, not a number` };
  const diff = Math.abs(r - own.value);
  const allowed = gate.reportedMetricTolerance * Math.max(1, Math.abs(own.value));
  const figures = `metrics.json says ${key} ${fmt(r)}, cd4ml measured ${fmt(own.value)} on the same ${rows} holdout rows (|diff| ${fmt(diff)}`;
  return diff <= allowed + 1e-12
    ? { name, passed: true, detail: `${figures} <= ${fmt(allowed)})` }
    : { name, passed: false, detail: `${figures} > ${fmt(allowed)}): the evaluate stage's figure is not what the model does on its own holdout; check its code and that it scores this holdout.json` };
}

/** The release to compare with: its outputs on the holdout, or why its model could not be scored. */
export type BaselineRun =
  | { tag: string; outputs: TaskOutputs; recorded: Metrics }
  | { tag: string; unscorable: string; recorded: Metrics };

export interface BaselineVerdict {
  check: Check;
  comparison: GateComparison;
  /** The baseline's metrics: measured on the same rows, or as recorded when it could not be scored. */
  metrics: Metrics | null;
}

function comparisonBase(gate: GateConfig, truth: HoldoutTruth, tag: string | null): Omit<GateComparison, 'scoredOn' | 'candidate' | 'baseline' | 'difference' | 'lo' | 'hi'> {
  const rows = truth.task === 'classification' ? truth.labels.length : truth.targets.length;
  return {
    task: truth.task, metric: gate.metric, policy: gate.policy, margin: gate.margin, baselineTag: tag,
    confidence: gate.confidence, rows, resamples: gate.bootstrap.resamples, seed: gate.bootstrap.seed,
  };
}

/** McNemar's exact test beside the bootstrap, for accuracy. */
function mcnemarNote(truth: HoldoutTruth, candidate: TaskOutputs, baseline: TaskOutputs): { p?: number; text: string } {
  if (truth.task !== 'classification' || candidate.task !== 'classification' || baseline.task !== 'classification') return { text: '' };
  const m = mcnemarExact(truth.labels, candidate.outputs.predicted, baseline.outputs.predicted, truth.classes.length);
  if (!m.ok) return { text: '' };
  const { candidateOnly, baselineOnly, pValue } = m.value;
  return { p: pValue, text: `; McNemar exact p = ${fmt(pValue)} (${candidateOnly} rows only the candidate gets right, ${baselineOnly} only the baseline)` };
}

/**
 * The `baseline` check. With both models scored on the same rows it decides on
 * the paired bootstrap interval of the difference (gate.policy); a baseline
 * whose model cannot be scored falls back to the recorded figures, with a warning.
 */
export function compareWithBaseline(
  gate: GateConfig, truth: HoldoutTruth, candidate: TaskOutputs, own: Outcome<number>, reported: Metrics, baseline: BaselineRun | null,
): BaselineVerdict {
  const name = 'baseline';
  const base = comparisonBase(gate, truth, baseline?.tag ?? null);
  const none = { candidate: own.ok ? own.value : null, baseline: null, difference: null, lo: null, hi: null };
  if (!baseline) {
    const detail = own.ok ? `no baseline: first model (${gate.metric} ${fmt(own.value)} on ${base.rows} holdout rows)` : `no baseline, and cd4ml could not measure ${gate.metric}: ${own.error}`;
    return { check: { name, passed: own.ok, detail }, comparison: { ...base, scoredOn: 'none', ...none }, metrics: null };
  }
  if ('unscorable' in baseline) {
    const warning = `baseline ${baseline.tag}'s model could not be scored on this holdout (${baseline.unscorable}); decided on the figures the trainings reported instead`;
    const fallback = baselineCheck(gate.metric, reported[gate.reportedMetric ?? gate.metric], { tag: baseline.tag, value: baseline.recorded[gate.metric] }, higherIsBetter(gate), gate.margin);
    return {
      check: { ...fallback, name, detail: `WARNING: ${warning}: ${fallback.detail}` },
      comparison: { ...base, ...none, scoredOn: 'reported', warning },
      metrics: baseline.recorded,
    };
  }
  const interval = bootstrapMetric(gate.metric as GateMetric, truth, candidate.outputs, baseline.outputs.outputs, { ...gate.bootstrap, confidence: gate.confidence });
  if (!interval.ok) {
    return { check: { name, passed: false, detail: `no comparison with baseline ${baseline.tag}: ${interval.error}` }, comparison: { ...base, scoredOn: 'models', ...none }, metrics: measuredMetrics(truth, baseline.outputs) };
  }
  const i = interval.value;
  const decision = decide({ policy: gate.policy, margin: gate.margin, higherIsBetter: higherIsBetter(gate), interval: i, baselineTag: baseline.tag });
  const mcnemar = gate.metric === 'accuracy' ? mcnemarNote(truth, candidate, baseline.outputs) : { text: '' };
  return {
    check: { name, passed: decision.passed, detail: decision.detail + mcnemar.text },
    comparison: {
      ...base, scoredOn: 'models', candidate: i.candidate, baseline: i.baseline, difference: i.difference, lo: i.lo, hi: i.hi,
      ...(mcnemar.p !== undefined ? { mcnemarP: mcnemar.p } : {}),
    },
    metrics: measuredMetrics(truth, baseline.outputs),
  };
}
