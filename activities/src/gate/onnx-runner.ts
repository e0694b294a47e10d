import { Worker } from 'node:worker_threads';
import type { Tensor, TensorSpec } from '@cd4ml/contracts';

// Runs an ONNX model off the main thread (see onnx-worker.mjs for why): one
// short-lived worker per call loads the model once and runs every batch.

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** A model that could not be loaded (phase 'load') or run on the inputs (phase 'run'). */
export class OnnxError extends Error {
  constructor(readonly phase: 'load' | 'run', message: string, readonly model?: ModelSignature) {
    super(message);
    this.name = 'OnnxError';
  }
}

export interface RunOptions {
  /** Terminates the worker, e.g. when the activity is cancelled. */
  signal?: AbortSignal;
  /** Guards against a model that hangs; default 10 minutes. */
  timeoutMs?: number;
}

type WorkerReply =
  | { ok: true; model: ModelSignature; results: Tensor[][] }
  | { ok: false; phase: 'load' | 'run'; message: string; model?: ModelSignature };

/** Loads the model once and runs each batch of inputs; returns its signature and each batch's outputs. */
export function runBatches(
  modelPath: string,
  batches: Tensor[][],
  opts: RunOptions = {},
): Promise<{ model: ModelSignature; results: Tensor[][] }> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new OnnxError('run', 'cancelled before start'));
    const worker = new Worker(new URL('./onnx-worker.mjs', import.meta.url), { workerData: { modelPath, batches } });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const timer = setTimeout(() => finish(() => reject(new OnnxError('run', `no result after ${timeoutMs} ms`))), timeoutMs);
    const onAbort = (): void => finish(() => reject(new OnnxError('run', 'cancelled')));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: WorkerReply) =>
      finish(() => (reply.ok ? resolve({ model: reply.model, results: reply.results }) : reject(new OnnxError(reply.phase, reply.message, reply.model)))));
    worker.once('error', (err) => finish(() => reject(new OnnxError('load', `onnx worker failed: ${err.message}`))));
    worker.once('exit', (code) => finish(() => reject(new OnnxError('run', `onnx worker exited with code ${code} before answering`))));
  });
}

/** Runs the model on one set of inputs and returns its outputs. */
export async function runModel(modelPath: string, inputs: Tensor[], opts?: RunOptions): Promise<Tensor[]> {
  const { results } = await runBatches(modelPath, [inputs], opts);
  return results[0] ?? [];
}

/** Input and output signatures from the model's metadata; free dimensions are -1. */
export async function describeModel(modelPath: string, opts?: RunOptions): Promise<ModelSignature> {
  return (await runBatches(modelPath, [], opts)).model;
}
