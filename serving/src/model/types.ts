import type { ReleaseManifest } from '@cd4ml/contracts';
import type { TensorData, TypedTensor } from '@cd4ml/onnx';

// The boundary between the model side (loading, verifying, running releases)
// and the HTTP side (protocols, metrics). The HTTP side only uses these types.

export type { TensorData };

/** A tensor on its way in or out: OIP layout, data already typed (flat, row-major). */
export type InferTensor = TypedTensor;

export interface ServedModel {
  /** The project name: the model's name in the protocols. */
  name: string;
  /** The release tag: the model's version. */
  version: string;
  manifest: ReleaseManifest;
  loadedAt: number;
}

export interface RefusedRelease {
  version: string;
  reason: string;
  at: number;
}

export interface InferResult {
  model: ServedModel;
  outputs: InferTensor[];
  /** Time the request waited for a batch and a free session. */
  queueMs: number;
  /** Rows in the batch this request ran in. */
  batchSize: number;
}

/** Why an inference failed, as counted in /metrics (Triton's reasons). */
export type FailureReason = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'UNAVAILABLE' | 'BACKEND';

/** A client error from a front end or the model side: answered with its status (400, 404, 413, 503) and message. */
export class BadRequest extends Error {
  constructor(message: string, readonly status: 400 | 404 | 413 | 503 = 400) {
    super(message);
    this.name = 'BadRequest';
  }
}

/** Errors the HTTP side maps to status codes: 400 bad input, 404 unknown version, 503 not ready. */
export class InferenceError extends Error {
  constructor(readonly status: 400 | 404 | 503, message: string) {
    super(message);
    this.name = 'InferenceError';
  }
}

export interface ModelRegistry {
  readonly name: string;
  /** True once a verified, smoke-tested release serves; false again while shutting down. */
  ready(): boolean;
  current(): ServedModel | null;
  /** Versions that can be addressed now (the current one, and any still draining). */
  versions(): ServedModel[];
  refused(): RefusedRelease[];
  infer(request: { version?: string; inputs: InferTensor[]; outputs?: string[] }): Promise<InferResult>;
  /** Stops following new releases, waits for in-flight requests, frees sessions. */
  close(): Promise<void>;
}
