import type { ReleaseStore } from '@cd4ml/stores';
import { batchable, compareOutputs, compareSignatures, fromJsonTensor, validateInputs } from '@cd4ml/onnx';
import { WorkerPool } from './pool.ts';
import { ReleaseRefusedError, readRelease } from './release.ts';
import type { Logger } from './logger.ts';
import type { InferTensor, ServedModel } from './types.ts';

// Loading one release: verify its files, start its workers, check the model's
// signature against the manifest and run the smoke test on every session.

export interface Loaded {
  served: ServedModel;
  pool: WorkerPool;
  batchable: boolean;
}

export interface LoadOptions {
  store: ReleaseStore;
  project: string;
  workers: number;
  threads: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  logger: Logger;
}

/** A release ready to serve; throws ReleaseRefusedError (bad release) or ReleaseMissingError (not readable now). */
export async function loadRelease(o: LoadOptions, tag: string): Promise<Loaded> {
  const { project } = o;
  const release = await readRelease(o.store, project, tag);
  const { manifest } = release;
  const refuse = (reason: string): ReleaseRefusedError => new ReleaseRefusedError(tag, reason);
  const started = performance.now();
  let pool: WorkerPool;
  try {
    pool = await WorkerPool.start({
      modelPath: release.modelPath,
      workers: o.workers,
      threads: o.threads,
      maxBatchSize: o.maxBatchSize,
      maxBatchDelayMs: o.maxBatchDelayMs,
      logger: o.logger,
      label: `${project}@${tag}`,
    });
  } catch (err) {
    throw refuse((err as Error).message);
  }
  try {
    const mismatch = compareSignatures(manifest.model, pool.signature);
    if (mismatch.length) throw refuse(`model does not match its manifest: ${mismatch.join('; ')}`);
    const canBatch = batchable(manifest.model) && batchable(pool.signature);
    pool.batching = canBatch;
    if (manifest.smoke.expectedOutputs.length === 0) throw refuse('smoke test has no expected outputs');
    let smokeInputs: InferTensor[];
    try {
      smokeInputs = validateInputs(manifest.model, { inputs: manifest.smoke.inputs.map(fromJsonTensor) }, canBatch).inputs;
    } catch (err) {
      throw refuse(`smoke inputs do not fit the model: ${(err as Error).message}`);
    }
    let results: InferTensor[][];
    try {
      results = await pool.runOnEach(smokeInputs);
    } catch (err) {
      throw refuse(`smoke run failed: ${(err as Error).message}`);
    }
    for (const outputs of results) {
      const smoke = compareOutputs(outputs, manifest.smoke.expectedOutputs, manifest.smoke.tolerance);
      if (!smoke.passed) throw refuse(`smoke test failed: ${smoke.detail}`);
    }
    o.logger.info(
      { model: project, version: tag, workers: o.workers, batching: canBatch, ms: Math.round(performance.now() - started) },
      'release verified and smoke-tested',
    );
    return { served: { name: project, version: tag, manifest, loadedAt: Date.now() }, pool, batchable: canBatch };
  } catch (err) {
    pool.terminate();
    throw err;
  }
}
