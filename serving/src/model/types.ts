import type { ReleaseManifest, RolloutConfig, RolloutFigures, ServingState } from '@cd4ml/contracts';
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

/** One inference as the model side takes it; `id` (the request's id) decides a canary's split. */
export interface InferRequest {
  version?: string;
  id?: string;
  inputs: InferTensor[];
  outputs?: string[];
}

/** A rollout as this replica sees it. */
export interface RolloutStatus {
  mode: RolloutConfig['mode'];
  candidate: string;
  /** Whether the candidate is loaded here and takes its share. */
  loaded: boolean;
  step: number;
  steps: number[];
  share: number;
  stepStartedAt: string;
  stepTime: string;
  limits: { maxErrorRate: number; maxP99Ms: number; maxOutputShift: number; minRequests: number; minAgreement: number };
  figures: RolloutFigures | null;
  /** Why decisions are on hold (the store is unreachable), or null. */
  paused: string | null;
}

export interface ModelRegistry {
  readonly name: string;
  /** True once a verified, smoke-tested release serves; false again while shutting down. */
  ready(): boolean;
  current(): ServedModel | null;
  /** Versions that can be addressed now (the current one, and any still draining). */
  versions(): ServedModel[];
  refused(): RefusedRelease[];
  infer(request: InferRequest): Promise<InferResult>;
  /** The running rollout, when following serving.json and one runs. */
  rollout?(): RolloutStatus | null;
  /** The live release, the rollout and the last decisions from serving.json (null before the first read or with a fixed tag). */
  servingState?(): ServingState | null;
  /** Stops following new releases, waits for in-flight requests, frees sessions. */
  close(): Promise<void>;
}
