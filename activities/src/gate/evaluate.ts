import type { Check, GateConfig, GateDecision, HoldoutSet, Metrics, MetricsFile, SmokeSet } from '@cd4ml/contracts';
import { fromJsonTensor, OnnxError, runModelOnce, specText, type ModelSignature, type RunOnceOptions, type TypedTensor } from '@cd4ml/onnx';
import { foldOutlierCheck, smokeCheck } from './checks.ts';
import { compareWithBaseline, gateMetric, measuredMetrics, reportedMetricCheck, type BaselineRun } from './comparison.ts';
import { holdoutTruth, type HoldoutTruth } from './holdout-truth.ts';
import { taskOutputs, type TaskOutputs } from './model-outputs.ts';
import { gatePlots } from './gate-plots.ts';
import type { Plot } from './plots.ts';
import { sanityChecks, sanityFailed } from './sanity-checks.ts';

export interface GateInput {
  modelPath: string;
  smoke: SmokeSet;
  holdout: HoldoutSet;
  metrics: MetricsFile;
  gate: GateConfig;
  /** The live release: its model (null when it is missing from the store, with why) and the metrics recorded with it. */
  baseline: { tag: string; metrics: Metrics; modelPath: string | null; problem?: string } | null;
  /** The project's own checks, already run on the location. */
  customChecks?: Check[];
}

export type GateResult = GateDecision & { model: ModelSignature; plotFiles: Plot[] };
export interface GateOptions extends RunOnceOptions {
  /** Render the report's plots (default true). */
  plots?: boolean;
}

const failed = (name: string, detail: string): Check => ({ name, passed: false, detail });

/** What the holdout holds, or what is wrong with it. */
function holdoutCheck(truth: ReturnType<typeof holdoutTruth>, rows: number): Check {
  if (!truth.ok) return failed('holdout', truth.error);
  const t = truth.value;
  if (t.task === 'regression') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of t.targets) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    return { name: 'holdout', passed: true, detail: `${rows} rows, targets from ${lo} to ${hi}` };
  }
  const counts = new Array<number>(t.classes.length).fill(0);
  for (const l of t.labels) counts[l]!++;
  return { name: 'holdout', passed: true, detail: `${rows} rows: ${t.classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}` };
}

/** The candidate on its smoke set and holdout: model-loads, model-runs, smoke, and its holdout outputs. */
async function runCandidate(input: GateInput, holdout: TypedTensor[] | null, opts?: RunOnceOptions): Promise<{ checks: Check[]; model: ModelSignature; outputs: TypedTensor[] | null }> {
  const started = Date.now();
  try {
    const batches = holdout ? [input.smoke.inputs.map(fromJsonTensor), holdout] : [input.smoke.inputs.map(fromJsonTensor)];
    const run = await runModelOnce(input.modelPath, batches, opts);
    const rows = holdout?.[0]?.shape[0] ?? 0;
    return {
      model: run.model,
      outputs: run.results[1] ?? null,
      checks: [
        { name: 'model-loads', passed: true, detail: `inputs ${run.model.inputs.map(specText).join(', ')}; outputs ${run.model.outputs.map(specText).join(', ')}` },
        { name: 'model-runs', passed: true, detail: `smoke and ${rows} holdout rows in ${Date.now() - started} ms` },
        smokeCheck(run.results[0] ?? [], input.smoke),
      ],
    };
  } catch (err) {
    if (!(err instanceof OnnxError && err.phase === 'run')) {
      return { model: { inputs: [], outputs: [] }, outputs: null, checks: [failed('model-loads', err instanceof Error ? err.message : String(err))] };
    }
    const model = err.model ?? { inputs: [], outputs: [] };
    const expects = err.model ? ` (model inputs: ${err.model.inputs.map(specText).join(', ')})` : '';
    return {
      model, outputs: null,
      checks: [{ name: 'model-loads', passed: true, detail: `outputs ${model.outputs.map(specText).join(', ')}` }, failed('model-runs', `${err.message}${expects}`)],
    };
  }
}

/** The live release's model on the same holdout rows, or why it cannot be scored. */
async function runBaseline(input: GateInput, truth: HoldoutTruth, opts?: RunOnceOptions): Promise<BaselineRun | null> {
  const b = input.baseline;
  if (!b) return null;
  if (!b.modelPath) return { tag: b.tag, recorded: b.metrics, unscorable: b.problem ?? 'its model.onnx is not in the store' };
  try {
    const run = await runModelOnce(b.modelPath, [input.holdout.inputs.map(fromJsonTensor)], opts);
    const outputs = taskOutputs(run.results[0] ?? [], input.gate, truth);
    return outputs.ok ? { tag: b.tag, recorded: b.metrics, outputs: outputs.value } : { tag: b.tag, recorded: b.metrics, unscorable: outputs.error };
  } catch (err) {
    if (opts?.signal?.aborted) throw err;
    return { tag: b.tag, recorded: b.metrics, unscorable: err instanceof Error ? err.message : String(err) };
  }
}

/** The holdout's inputs as typed arrays, or the problem with them (a failed `holdout` check). */
function holdoutInputs(holdout: HoldoutSet): { inputs: TypedTensor[] } | { problem: string } {
  try {
    return { inputs: holdout.inputs.map(fromJsonTensor) };
  } catch (err) {
    return { problem: `holdout.json inputs: ${(err as Error).message}` };
  }
}

/**
 * Gate a candidate: every check runs and is reported, and it is accepted only if
 * all pass. cd4ml runs the candidate and the live release's model on the same
 * holdout rows and measures the metric itself. Never throws for a bad model or holdout.
 */
export async function runGate(input: GateInput, opts: GateOptions = {}): Promise<GateResult> {
  const { holdout, gate, metrics: reported } = input;
  const rows = holdout.inputs[0]?.shape[0] ?? 0;
  const converted = holdoutInputs(holdout);
  const truth = 'problem' in converted ? { ok: false as const, error: converted.problem } : holdoutTruth(gate.task, holdout, rows, gate.minRows);
  const [candidate, baseline] = await Promise.all([
    runCandidate(input, truth.ok && 'inputs' in converted ? converted.inputs : null, opts),
    truth.ok ? runBaseline(input, truth.value, opts) : null,
  ]);
  const checks: Check[] = [holdoutCheck(truth, rows), ...candidate.checks];
  let outputs: TaskOutputs | null = null;
  let result: Pick<GateResult, 'metrics' | 'baseline' | 'comparison'> = { metrics: {}, baseline: input.baseline && { tag: input.baseline.tag, metrics: input.baseline.metrics } };
  if (truth.ok) {
    const read = candidate.outputs ? taskOutputs(candidate.outputs, gate, truth.value) : { ok: false as const, error: 'the model did not run on the holdout' };
    if (read.ok) outputs = read.value;
    checks.push(...(read.ok ? sanityChecks(truth.value, read.value, gate) : sanityFailed(truth.value.task, read.error)));
  }
  checks.push(foldOutlierCheck(reported.folds, gate.foldOutlierMaxDeviation));
  if (truth.ok && outputs) {
    const own = gateMetric(gate, truth.value, outputs);
    const verdict = compareWithBaseline(gate, truth.value, outputs, own, reported, baseline);
    checks.push(reportedMetricCheck(gate, own, reported, rows), verdict.check);
    result = {
      metrics: measuredMetrics(truth.value, outputs),
      baseline: baseline && verdict.metrics ? { tag: baseline.tag, metrics: verdict.metrics } : result.baseline,
      comparison: verdict.comparison,
    };
  } else {
    const why = truth.ok ? 'the model gave no usable holdout outputs' : 'the holdout cannot be used';
    checks.push(failed('reported-metric', `not compared: ${why}`), failed('baseline', `not compared: ${why}`));
  }
  checks.push(...(input.customChecks ?? []));
  const plotFiles = truth.ok && outputs && opts.plots !== false
    ? await gatePlots(truth.value, outputs, baseline && 'outputs' in baseline ? { tag: baseline.tag, outputs: baseline.outputs } : null)
    : [];
  const failures = checks.filter((c) => !c.passed);
  return {
    accepted: failures.length === 0,
    reasons: failures.map((c) => `${c.name}: ${c.detail}`),
    checks,
    ...result,
    reportedMetrics: { ...reported },
    model: candidate.model,
    plotFiles,
    plots: plotFiles.map(({ file, title }) => ({ file, title })),
  };
}
