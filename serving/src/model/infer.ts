import { checkSignature, InputError } from '@cd4ml/onnx';
import { ModelSet } from './models.ts';
import {
  BadRequest, InferenceError, type FailureReason, type InferResult, type InferTensor, type ModelRegistry, type ServedModel,
} from './types.ts';

// The model side of every inference route, whatever the wire format (REST JSON,
// binary tensors, gRPC): find the model addressed, check the request against the
// release it will run on, run it, count it. Front ends only decode and encode.

/** A request turned into inputs for one release. */
export interface Prepared {
  inputs: InferTensor[];
  outputs?: string[] | undefined;
  /** The request's id: a canary's split hashes it, so every replica sends it the same way. */
  id?: string | undefined;
}

/** Where the counts of inferences go (the /metrics registry implements it). */
export interface InferenceObserver {
  success(model: string, version: string, rows: number, batchSize: number, requestMs: number, queueMs: number): void;
  failure(model: string, version: string, reason: FailureReason): void;
}

/** The status a client error maps to (a front end translates it to its protocol's codes), or undefined for a server fault. */
export const statusOf = (err: unknown): 400 | 404 | 413 | 503 | undefined => {
  if (err instanceof BadRequest) return err.status;
  if (err instanceof InferenceError) return err.status;
  if (err instanceof InputError) return 400;
  const e = err as { name?: unknown; status?: unknown };
  if (e && e.name === 'InferenceError' && (e.status === 400 || e.status === 404 || e.status === 503)) return e.status;
  return undefined;
};

export const reasonOf = (status: number | undefined): FailureReason =>
  status === 400 || status === 413 ? 'INVALID_ARGUMENT' : status === 404 ? 'NOT_FOUND' : status === 503 ? 'UNAVAILABLE' : 'BACKEND';

/** Checks decoded tensors against the release they will run on: names, datatypes, shapes. */
export function prepareTensors(inputs: InferTensor[], outputs: string[] | undefined, model: ServedModel): Prepared {
  checkSignature(model.manifest.model, inputs, outputs);
  return { inputs, outputs };
}

export class InferenceService {
  readonly models: ModelSet;

  constructor(models: ModelRegistry | ModelSet, private readonly observer: InferenceObserver) {
    this.models = ModelSet.of(models);
  }

  names(): string[] {
    return this.models.names();
  }

  /** Every model served is ready. */
  ready(): boolean {
    return this.models.ready();
  }

  /** The registry serving `name`; 404 for a name this server does not serve. */
  checkName(name: string): ModelRegistry {
    return this.models.get(name);
  }

  /** The model addressed by name (and version); 404 unknown, 503 nothing served yet. */
  resolve(name: string, version?: string): ServedModel {
    const registry = this.checkName(name);
    if (version !== undefined) {
      const m = registry.versions().find((v) => v.version === version);
      if (m) return m;
      const refused = registry.refused().filter((r) => r.version === version).at(-1);
      if (refused) throw new BadRequest(`version "${version}" of ${name} was refused: ${refused.reason}`, 404);
      throw new BadRequest(`unknown version "${version}" of ${name}: serving ${registry.versions().map((v) => v.version).join(', ') || 'none'}`, 404);
    }
    const current = registry.current();
    if (!current) {
      const last = registry.refused().at(-1);
      throw new BadRequest(`${name} has no release serving yet${last ? ` (release ${last.version} was refused: ${last.reason})` : ''}`, 503);
    }
    return current;
  }

  /** Whether the model (or one version of it) can take requests; 404 for names and versions never heard of. */
  modelReady(name: string, version?: string): boolean {
    const registry = this.checkName(name);
    let ready = registry.ready() && registry.current() !== null;
    if (version !== undefined) {
      const known = registry.versions().some((v) => v.version === version);
      if (!known && !registry.refused().some((r) => r.version === version)) this.resolve(name, version); // 404
      ready = ready && known;
    }
    return ready;
  }

  /** The OIP model metadata, with cd4ml's own release details. */
  metadata(name: string, version?: string) {
    const registry = this.checkName(name);
    const m = this.resolve(name, version);
    const model = m.manifest.model;
    return {
      name: m.name,
      versions: registry.versions().map((v) => v.version),
      platform: 'onnxruntime_onnx',
      inputs: model.inputs,
      outputs: model.outputs,
      cd4ml: {
        version: m.version,
        current: registry.current()?.version ?? null,
        loadedAt: new Date(m.loadedAt).toISOString(),
        createdAt: m.manifest.createdAt,
        commit: m.manifest.git.commit,
        features: model.features ?? null,
        classes: model.classes ?? null,
        refused: registry.refused().map((r) => ({ version: r.version, reason: r.reason, at: new Date(r.at).toISOString() })),
        live: registry.current()?.version ?? null,
        candidate: registry.rollout?.()?.candidate ?? null,
        rollout: registry.rollout?.() ?? null,
        lastDecision: registry.servingState?.()?.history.at(-1) ?? null,
      },
    };
  }

  /**
   * Runs an inference and keeps the metrics; failures are counted, then rethrown.
   * `prepare` (one function per route, not a closure per request) turns the
   * request `arg` into inputs for the release it is about to run on.
   */
  async run<A, P extends Prepared>(
    name: string,
    version: string | undefined,
    arg: A,
    prepare: (arg: A, model: ServedModel) => P,
  ): Promise<{ result: InferResult; prepared: P }> {
    const { observer } = this;
    const started = performance.now();
    const registry = this.checkName(name); // unknown names are not counted: label values must not come from clients
    let labelVersion = version ?? registry.current()?.version ?? '';
    try {
      if (!registry.ready()) throw new BadRequest(`${registry.name} is not ready`, 503);
      const model = this.resolve(name, version);
      labelVersion = model.version;
      const prepared = prepare(arg, model);
      const { inputs, outputs, id } = prepared;
      const result = await registry.infer({
        inputs, ...(outputs !== undefined ? { outputs } : {}), ...(id !== undefined ? { id } : {}), ...(version !== undefined ? { version } : {}),
      });
      const first = prepared.inputs[0];
      const rows = first && first.shape.length > 0 ? first.shape[0]! : 1;
      observer.success(registry.name, result.model.version, rows, result.batchSize, performance.now() - started, result.queueMs);
      return { result, prepared };
    } catch (err) {
      const status = statusOf(err);
      const known = registry.versions().some((v) => v.version === labelVersion) || labelVersion === '';
      observer.failure(registry.name, known ? labelVersion : 'unknown', reasonOf(status));
      throw err;
    }
  }
}
