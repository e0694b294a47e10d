import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { basename } from 'node:path';
import {
  CLASSIFICATION_METRICS, HIGHER_IS_BETTER, LocationName, ProjectName, REGRESSION_METRICS, TaskKind, metricsFor,
  type GateMetric,
} from '@cd4ml/contracts';
import { pipelineFiles, ProjectInputError, type DvcPipeline } from './dvc-pipeline.ts';

// `cd4ml init`'s answers: each from a flag, else from the project's files, else a
// guess that a terminal user is asked to confirm and a script is told about.

export interface InitFlags {
  project?: string;
  model?: string;
  metrics?: string;
  smoke?: string;
  holdout?: string;
  task?: string;
  metric?: string;
  margin?: number;
  location?: string;
}

export type Field = keyof InitFlags;

export interface Answer<T> {
  value: T;
  /** Where it came from, for the file's comments and the summary: "--model", "dvc.yaml stage train", ... */
  from: string;
  /** Not inferred: a terminal user is asked; elsewhere the value is used and reported. */
  guessed?: boolean;
  /** Several candidates: without a terminal the flag is required. */
  choices?: string[];
}

export type InitAnswers = { [K in Field]-?: Answer<NonNullable<InitFlags[K]>> } & {
  /** gate.foldOutlierMaxDeviation, when the project's folds already vary more than the default allows. */
  foldDeviation: Answer<number> | null;
};

/** The default gate.foldOutlierMaxDeviation (contracts/src/gate.ts). */
const DEFAULT_FOLD_DEVIATION = 0.1;

/** Folds that honestly vary (small folds, noisy metrics) would fail fold-outliers on every training: widen it by half again. */
function foldDeviation(metrics: Record<string, unknown> | null): Answer<number> | null {
  const folds = Array.isArray(metrics?.folds) ? (metrics.folds as unknown[]).filter((f): f is number => typeof f === 'number') : [];
  if (folds.length < 2) return null;
  const sorted = [...folds].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const worst = Math.max(...folds.map((f) => Math.abs(f - median)));
  if (worst * 1.5 <= DEFAULT_FOLD_DEVIATION) return null;
  return { value: Math.ceil(worst * 1.5 * 100) / 100, from: `the folds in the metrics file are up to ${worst.toFixed(3)} from their median today` };
}

const flag = (f: Field): string => `--${f}`;

const readJson = (file: string): Record<string, unknown> | null => {
  try {
    const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

/** A pipeline output for one of cd4ml's files: the flag, else the one out that fits, else the default. */
function outputFile(p: DvcPipeline, f: Field, given: string | undefined, fits: (file: string) => boolean, fallback: string, what: string): Answer<string> {
  if (given) return { value: path.normalize(given), from: flag(f) };
  const files = pipelineFiles(p).filter((o) => fits(o.file));
  const unique = [...new Set(files.map((o) => o.file))];
  if (unique.length === 1) return { value: unique[0]!, from: `dvc.yaml stage ${files[0]!.stage}` };
  if (unique.length > 1) return { value: unique[0]!, from: `one of ${unique.length} in dvc.yaml`, choices: unique };
  return { value: fallback, from: `default: no stage in dvc.yaml writes ${what}`, guessed: true };
}

function projectName(p: DvcPipeline, given: string | undefined): Answer<string> {
  if (given) {
    const ok = ProjectName.safeParse(given);
    if (!ok.success) throw new ProjectInputError(`--project ${given}: ${ok.error.issues[0]!.message}`);
    return { value: given, from: '--project' };
  }
  const name = basename(path.resolve(p.dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return { value: name || 'project', from: 'the folder\'s name', guessed: !name };
}

interface TaskSignals {
  holdout: Record<string, unknown> | null;
  metrics: Record<string, unknown> | null;
}

function gateTask(given: string | undefined, metric: string | undefined, s: TaskSignals): Answer<string> {
  if (given) {
    if (!TaskKind.safeParse(given).success) throw new ProjectInputError(`--task ${given}: expected classification or regression`);
    return { value: given, from: '--task' };
  }
  if ((REGRESSION_METRICS as readonly string[]).includes(metric ?? '')) return { value: 'regression', from: `--metric ${metric}` };
  if (metric && (CLASSIFICATION_METRICS as readonly string[]).includes(metric)) return { value: 'classification', from: `--metric ${metric}` };
  if (s.holdout?.targets) return { value: 'regression', from: 'holdout.json has targets' };
  if (s.holdout?.classes || s.holdout?.labels) return { value: 'classification', from: 'holdout.json has classes' };
  const keys = Object.keys(s.metrics ?? {});
  if (keys.some((k) => (REGRESSION_METRICS as readonly string[]).includes(k)) && !keys.some((k) => (CLASSIFICATION_METRICS as readonly string[]).includes(k))) {
    return { value: 'regression', from: `metrics file reports ${keys.filter((k) => (REGRESSION_METRICS as readonly string[]).includes(k)).join(', ')}` };
  }
  if (keys.some((k) => (CLASSIFICATION_METRICS as readonly string[]).includes(k))) return { value: 'classification', from: 'metrics file reports a classification metric' };
  return { value: 'classification', from: 'default: no metrics or holdout file yet to tell', guessed: true };
}

function gateMetric(given: string | undefined, task: string, metrics: Record<string, unknown> | null): Answer<string> {
  const allowed = metricsFor(task as TaskKind);
  if (given) {
    if (!(allowed as readonly string[]).includes(given)) throw new ProjectInputError(`--metric ${given}: not a ${task} metric cd4ml computes; use one of ${allowed.join(', ')}`);
    return { value: given, from: '--metric' };
  }
  const reported = allowed.filter((m) => typeof metrics?.[m] === 'number');
  if (reported.length) return { value: reported[0]!, from: `metrics file reports ${reported.join(', ')}`, ...(reported.length > 1 ? { choices: [...reported] } : {}) };
  return { value: allowed[0]!, from: `default for ${task}`, guessed: true };
}

/** not-worse margin in the metric's units: 0.02 for scores in [0, 1]; 5% of a reported error such as rmse. */
function gateMargin(given: number | undefined, metric: string, metrics: Record<string, unknown> | null): Answer<number> {
  if (given !== undefined) return { value: given, from: '--margin' };
  const bounded = HIGHER_IS_BETTER[metric as GateMetric] || metric === 'log_loss';
  const reported = metrics?.[metric];
  if (bounded) return { value: 0.02, from: `default for ${metric}` };
  if (typeof reported === 'number' && reported > 0) {
    return { value: Number((reported * 0.05).toPrecision(2)), from: `5% of the reported ${metric} ${reported.toPrecision(4)}` };
  }
  return { value: 0.02, from: `default; set it in ${metric}'s units`, guessed: true };
}

/** Everything `init` can tell from the flags and the project's files. */
export function inferConfig(p: DvcPipeline, flags: InitFlags): InitAnswers {
  const json = (rel: string) => (existsSync(path.join(p.dir, rel)) ? readJson(path.join(p.dir, rel)) : null);
  const isJson = (f: string) => f.endsWith('.json');
  const model = outputFile(p, 'model', flags.model, (f) => f.endsWith('.onnx'), 'model/model.onnx', 'a .onnx file');
  const metricFiles = pipelineFiles(p).filter((o) => o.kind === 'metrics' && isJson(o.file));
  const metrics: Answer<string> = flags.metrics
    ? { value: path.normalize(flags.metrics), from: '--metrics' }
    : metricFiles.length === 1 ? { value: metricFiles[0]!.file, from: `dvc.yaml metrics of stage ${metricFiles[0]!.stage}` }
    : metricFiles.length > 1
      ? { value: metricFiles.find((o) => path.basename(o.file) === 'metrics.json')?.file ?? metricFiles[0]!.file, from: 'one of the metrics files in dvc.yaml', choices: metricFiles.map((o) => o.file) }
      : { value: 'metrics.json', from: 'default: dvc.yaml declares no JSON metrics file', guessed: true };
  const smoke = outputFile(p, 'smoke', flags.smoke, (f) => isJson(f) && /smoke/i.test(path.basename(f)), 'model/smoke.json', 'a smoke*.json file');
  const holdout = outputFile(p, 'holdout', flags.holdout, (f) => isJson(f) && /holdout/i.test(path.basename(f)), 'model/holdout.json', 'a holdout*.json file');
  const metricsData = json(metrics.value);
  const task = gateTask(flags.task, flags.metric, { holdout: json(holdout.value), metrics: metricsData });
  const metric = gateMetric(flags.metric, task.value, metricsData);
  const location = flags.location ?? 'local';
  const loc = LocationName.safeParse(location);
  if (!loc.success) throw new ProjectInputError(`--location ${location}: ${loc.error.issues[0]!.message}`);
  return {
    project: projectName(p, flags.project),
    model, metrics, smoke, holdout, task, metric,
    margin: gateMargin(flags.margin, metric.value, metricsData),
    location: { value: location, from: flags.location ? '--location' : 'default: this machine' },
    foldDeviation: foldDeviation(metricsData),
  };
}
