import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

// What `cd4ml init` and `cd4ml check` read from an existing DVC project:
// dvc.yaml's stages and what each writes, and params.yaml's sections.

/** A bad project folder: exit code 2 (bad input), nothing run or written. */
export class ProjectInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectInputError';
  }
}

export interface StageOutputs {
  stage: string;
  /** Paths relative to the project folder (a stage's wdir applied). */
  outs: string[];
  metrics: string[];
  /** Names under `params:` (section names or dotted keys). */
  params: string[];
}

export interface DvcPipeline {
  dir: string;
  stages: StageOutputs[];
  /** Top-level keys of params.yaml ({} when it has none). */
  params: Record<string, unknown>;
  hasParamsFile: boolean;
}

type Entry = string | Record<string, unknown>;

/** dvc.yaml lists an out as a path, or as {path: {cache: false, ...}}. */
const entryPaths = (entries: unknown): string[] =>
  Array.isArray(entries) ? (entries as Entry[]).flatMap((e) => (typeof e === 'string' ? [e] : Object.keys(e ?? {}))) : [];

/** params: a section name, a dotted key, or {params-file.yaml: [keys]}: only params.yaml's names matter here. */
const paramNames = (entries: unknown): string[] =>
  Array.isArray(entries) ? (entries as Entry[]).flatMap((e) => (typeof e === 'string' ? [e] : [])) : [];

/** Reads dvc.yaml (required) and params.yaml (optional) of the project in `dir`. */
export async function readDvcPipeline(dir: string): Promise<DvcPipeline> {
  const file = path.join(dir, 'dvc.yaml');
  if (!existsSync(file)) {
    throw new ProjectInputError(
      `${dir} has no dvc.yaml: cd4ml trains DVC pipelines. Run this in the folder holding dvc.yaml (or pass --dir), ` +
        'or create the pipeline first (`dvc init`, then `dvc stage add -n train ...`, see https://dvc.org/doc/start)',
    );
  }
  let doc: { stages?: Record<string, Record<string, unknown>> };
  try {
    doc = (parseYaml(await readFile(file, 'utf8')) ?? {}) as typeof doc;
  } catch (err) {
    throw new ProjectInputError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc.stages || typeof doc.stages !== 'object' || Object.keys(doc.stages).length === 0) {
    throw new ProjectInputError(`${file} defines no stages: add the stages that train and export the model (dvc stage add)`);
  }
  const stages = Object.entries(doc.stages).map(([stage, s]): StageOutputs => {
    // foreach/matrix stages keep their outs under `do:`; their templated paths stay as written.
    const body = (s?.do ?? s ?? {}) as Record<string, unknown>;
    const wdir = typeof body.wdir === 'string' ? body.wdir : '.';
    const rel = (p: string) => path.normalize(path.join(wdir, p));
    return {
      stage,
      outs: entryPaths(body.outs).map(rel),
      metrics: entryPaths(body.metrics).map(rel),
      params: paramNames(body.params),
    };
  });
  const paramsFile = path.join(dir, 'params.yaml');
  let params: Record<string, unknown> = {};
  if (existsSync(paramsFile)) {
    try {
      const parsed: unknown = parseYaml(await readFile(paramsFile, 'utf8'));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) params = parsed as Record<string, unknown>;
    } catch (err) {
      throw new ProjectInputError(`${paramsFile} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { dir, stages, params, hasParamsFile: existsSync(paramsFile) };
}

/** Every file the pipeline writes (outs and metrics), with the stage writing it. */
export function pipelineFiles(p: DvcPipeline): { file: string; stage: string; kind: 'outs' | 'metrics' }[] {
  return p.stages.flatMap((s) => [
    ...s.outs.map((file) => ({ file, stage: s.stage, kind: 'outs' as const })),
    ...s.metrics.map((file) => ({ file, stage: s.stage, kind: 'metrics' as const })),
  ]);
}

/** The stage whose outs or metrics hold `file` (or a folder containing it). */
export function stageWriting(p: DvcPipeline, file: string): string | undefined {
  const f = path.normalize(file);
  return pipelineFiles(p).find((o) => o.file === f || f.startsWith(`${o.file}${path.sep}`))?.stage;
}

/** dvc.yaml params that params.yaml does not have (a typo, or params from another file). */
export function missingParams(p: DvcPipeline): { stage: string; param: string }[] {
  if (!p.hasParamsFile) return [];
  const has = (name: string): boolean => {
    let node: unknown = p.params;
    for (const part of name.split('.')) {
      if (!node || typeof node !== 'object' || !(part in (node as object))) return false;
      node = (node as Record<string, unknown>)[part];
    }
    return true;
  };
  return p.stages.flatMap((s) => s.params.filter((n) => !has(n)).map((param) => ({ stage: s.stage, param })));
}
