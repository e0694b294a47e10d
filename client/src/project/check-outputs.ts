import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  HoldoutSet, MetricsFile, SmokeSet, type GateConfig, type HoldoutSet as Holdout, type MetricsFile as Metrics,
  type ProjectConfig, type SmokeSet as Smoke,
} from '@cd4ml/contracts';
import { runGate } from '@cd4ml/activities/gate/evaluate';
import { pipelineFiles, stageWriting, type DvcPipeline } from './dvc-pipeline.ts';
import { snippetFor, type SnippetKind } from './snippets.ts';

// `cd4ml check`'s judgement of a project's outputs: first against dvc.yaml (does a
// stage write each file cd4ml.yaml names?), then, after dvc repro, the files against
// the contracts, then the gate's own checks on them as a first model would get.

export interface Finding {
  passed: boolean;
  /** Passed, but worth changing: printed as WARN. */
  warn?: boolean;
  /** `outputs.model`, `model/holdout.json labels`, `gate check smoke`, ... */
  what: string;
  detail: string;
  /** What to add to the training code. */
  snippet?: string;
}

const KINDS: SnippetKind[] = ['model', 'metrics', 'smoke', 'holdout'];

const fail = (what: string, detail: string, snippet?: string): Finding => ({ passed: false, what, detail, ...(snippet ? { snippet } : {}) });

/** Each outputs.<kind> path against what dvc.yaml says its stages write. */
export function checkDeclaredOutputs(pipeline: DvcPipeline, config: ProjectConfig): Finding[] {
  return KINDS.map((kind) => {
    const file = config.outputs[kind];
    const stage = stageWriting(pipeline, file);
    if (stage) return { passed: true, what: `outputs.${kind}`, detail: `${file}, written by stage ${stage}` };
    const ext = path.extname(file);
    const similar = [...new Set(pipelineFiles(pipeline).map((o) => o.file).filter((f) => path.extname(f) === ext))];
    return fail(
      `outputs.${kind}`,
      `${file} (cd4ml.yaml) is not written by any stage of dvc.yaml` +
        (similar.length ? `; the pipeline writes ${similar.join(', ')}: set outputs.${kind} to the right one` : '') +
        `, or add ${file} to the outs of the stage that writes it`,
    );
  });
}

type Parsed = { metrics: Metrics; smoke: Smoke; holdout: Holdout };

/** zod's "Invalid input: expected array, received undefined" said as what to do about that field. */
function fieldProblem(file: string, issue: { path: PropertyKey[]; message: string }): string {
  const field = issue.path.map(String).join('.') || '(the whole file)';
  return /received undefined/.test(issue.message) ? `${file} ${field}: missing; add it` : `${file} ${field}: ${issue.message}`;
}

/** The files after dvc repro: there, JSON, and in the contracts' formats. */
export async function checkOutputFiles(dir: string, config: ProjectConfig): Promise<{ findings: Finding[]; parsed?: Parsed }> {
  const findings: Finding[] = [];
  const schemas = { metrics: MetricsFile, smoke: SmokeSet, holdout: HoldoutSet } as const;
  const parsed: Partial<Parsed> = {};
  for (const kind of KINDS) {
    const file = config.outputs[kind];
    const snippet = snippetFor(kind, config.gate, file);
    if (!existsSync(path.join(dir, file))) {
      findings.push(fail(file, `outputs.${kind}: not there after dvc repro; make the pipeline write it, or point outputs.${kind} at the file it writes`, snippet));
      continue;
    }
    if (kind === 'model') continue; // loaded and run by the gate below
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
    } catch (err) {
      findings.push(fail(file, `not JSON: ${(err as Error).message}`, snippet));
      continue;
    }
    const result = schemas[kind].safeParse(raw);
    if (!result.success) {
      findings.push(...result.error.issues.slice(0, 5).map((i, n) => fail(file, fieldProblem(file, i), n === 0 ? snippet : undefined)));
      continue;
    }
    (parsed as Record<string, unknown>)[kind] = result.data;
    findings.push({ passed: true, what: file, detail: `outputs.${kind}: in cd4ml's format` });
  }
  return findings.every((f) => f.passed) ? { findings, parsed: parsed as Parsed } : { findings };
}

/** Which file a gate check is about, for its snippet. */
const CHECK_FILE: Record<string, SnippetKind> = {
  'model-loads': 'model', 'model-runs': 'model', smoke: 'smoke', holdout: 'holdout',
  'reported-metric': 'metrics', 'fold-outliers': 'metrics',
  'probabilities-in-range': 'model', 'probabilities-sum-to-one': 'model', 'finite-predictions': 'model',
};

/** The gate on the outputs, as for a first model (no baseline); no plots. */
export async function checkWithGate(dir: string, config: ProjectConfig, files: Parsed): Promise<Finding[]> {
  const gate: GateConfig = config.gate;
  const result = await runGate({
    modelPath: path.join(dir, config.outputs.model), ...files, gate, baseline: null,
  }, { plots: false });
  const findings = result.checks.map((c): Finding => {
    const kind = CHECK_FILE[c.name];
    return { passed: c.passed, what: `gate check ${c.name}`, detail: c.detail, ...(!c.passed && kind ? { snippet: snippetFor(kind, gate, config.outputs[kind]) } : {}) };
  });
  const reportedKey = gate.reportedMetric ?? gate.metric;
  if (typeof files.metrics[reportedKey] !== 'number') {
    findings.push({
      passed: true, warn: true, what: config.outputs.metrics,
      detail: `${reportedKey}: missing; without the training code's own ${reportedKey} cd4ml cannot cross-check it (reported-metric). ` +
        'Add it, or name the key holding it in gate.reportedMetric',
      snippet: snippetFor('metrics', gate, config.outputs.metrics),
    });
  }
  return findings;
}
