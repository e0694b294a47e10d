import { availableParallelism } from 'node:os';
import path from 'node:path';
import { isS3Url, openStore, type ReleaseStore } from '@cd4ml/stores';
import { WorkerPool } from './pool.ts';
import {
  ReleaseMissingError, ReleaseRefusedError, readLatestTag, readRelease, releaseFingerprint,
} from './release.ts';
import { batchable, compareOutputs, compareSignatures, fromJsonTensor, InputError, validateInputs } from '@cd4ml/onnx';
import { consoleLogger, type Logger } from './logger.ts';
import {
  InferenceError, type InferResult, type InferTensor, type ModelRegistry, type RefusedRelease, type ServedModel,
} from './types.ts';

export interface ModelRegistryOptions {
  /**
   * The release store: a folder (relative to the working directory is fine),
   * s3://bucket/prefix, or an opened store. Layout: <store>/<project>/<tag>/release.json,
   * <store>/<project>/latest.json.
   */
  store: string | ReleaseStore;
  /** Where models downloaded from S3 are kept. Default: <tmpdir>/cd4ml-store-cache. */
  cacheDir?: string;
  project: string;
  /** Serve exactly this release. Without it: serve latest.json's tag and follow new releases. */
  tag?: string;
  /** Worker threads (one onnxruntime session each) per loaded release; default min(2, cpus - 1), at least 1. */
  workers?: number;
  /** Most rows stacked into one session.run; default 1024 (so 64-row requests batch too). */
  maxBatchSize?: number;
  /** Longest a request waits for others to batch with; default 2 ms. */
  maxBatchDelayMs?: number;
  /** How often latest.json is read when following releases (one GET on S3); default 1000 ms. */
  pollIntervalMs?: number;
  logger?: Logger;
}

interface Loaded {
  served: ServedModel;
  pool: WorkerPool;
  batchable: boolean;
}

const MAX_REFUSED = 100;

/**
 * Loads, verifies and serves a project's releases from a store directory.
 *
 * With `tag`, the returned promise rejects with ReleaseRefusedError when that
 * release fails its checks (nothing else could ever become ready). Without it,
 * the promise resolves after the first look at latest.json, with ready()
 * false if there was nothing servable yet; polling continues either way.
 */
export async function createModelRegistry(opts: ModelRegistryOptions): Promise<ModelRegistry> {
  const registry = new Registry(opts);
  await registry.start();
  return registry;
}

class Registry implements ModelRegistry {
  readonly name: string;
  private readonly logger: Logger;
  private readonly store: ReleaseStore;
  private readonly workers: number;
  private readonly threads: number;
  private current_: Loaded | null = null;
  private readonly draining: Loaded[] = [];
  private readonly refused_: RefusedRelease[] = [];
  /** Refused tag -> fingerprint of its files then: not retried until they change. */
  private readonly refusedFiles = new Map<string, string | null>();
  private closing = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private lastPollProblem = '';

  constructor(private readonly opts: ModelRegistryOptions) {
    this.name = opts.project;
    this.logger = opts.logger ?? consoleLogger;
    const { store, cacheDir } = opts;
    this.store = typeof store !== 'string'
      ? store
      : openStore(isS3Url(store) ? store : path.resolve(store), cacheDir !== undefined ? { cacheDir } : {});
    const cpus = availableParallelism();
    // The event loop (HTTP, JSON, batching) needs a core of its own; inference threads get the rest.
    this.workers = Math.max(1, Math.floor(opts.workers ?? Math.min(2, cpus - 1)));
    this.threads = Math.max(1, Math.floor(cpus / this.workers));
  }

  async start(): Promise<void> {
    const { tag } = this.opts;
    if (tag !== undefined) {
      try {
        this.swap(await this.load(tag));
      } catch (err) {
        const refusal = err instanceof ReleaseRefusedError ? err : new ReleaseRefusedError(tag, (err as Error).message);
        this.recordRefused(refusal.version, refusal.reason);
        this.closing = true;
        throw refusal;
      }
      return;
    }
    await this.pollOnce();
    this.schedulePoll();
  }

  ready(): boolean {
    return !this.closing && this.current_ !== null;
  }

  current(): ServedModel | null {
    return this.closing ? null : (this.current_?.served ?? null);
  }

  versions(): ServedModel[] {
    return [this.current_, ...this.draining]
      .filter((l): l is Loaded => l !== null && !l.pool.isClosed())
      .map((l) => l.served);
  }

  refused(): RefusedRelease[] {
    return [...this.refused_];
  }

  infer(request: { version?: string; inputs: InferTensor[]; outputs?: string[] }): Promise<InferResult> {
    // Synchronous up to submit(): a swap cannot slip between picking the
    // version and queueing on its pool.
    try {
      if (this.closing) throw new InferenceError(503, `model ${this.name} is shutting down`);
      const current = this.current_;
      if (!current) throw new InferenceError(503, `model ${this.name} is not ready: no release has passed its checks yet`);
      if (request === null || typeof request !== 'object') throw new InferenceError(400, 'the request needs inputs');
      let target = current;
      const version = request.version;
      if (version !== undefined && version !== '' && version !== current.served.version) {
        const draining = this.draining.find((d) => d.served.version === version && !d.pool.isClosed());
        if (!draining) {
          throw new InferenceError(404, `model ${this.name} version ${version} not found; serving ${current.served.version}`);
        }
        target = draining;
      }
      const valid = validateInputs(target.served.manifest.model, request, target.batchable);
      const served = target.served;
      return target.pool.submit(valid).then((r) => ({ model: served, outputs: r.outputs, queueMs: r.queueMs, batchSize: r.batchSize }));
    } catch (err) {
      return Promise.reject(err instanceof InputError ? new InferenceError(400, err.message) : err);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.polling;
    const all = [this.current_, ...this.draining].filter((l): l is Loaded => l !== null);
    await Promise.all(all.map((l) => l.pool.close()));
    this.current_ = null;
    this.draining.length = 0;
  }

  // ---- loading and following releases ----

  /** Verifies the files, starts the workers, checks the signature and runs the smoke test on every session. */
  private async load(tag: string): Promise<Loaded> {
    const { project } = this.opts;
    const release = await readRelease(this.store, project, tag);
    const { manifest } = release;
    const refuse = (reason: string): ReleaseRefusedError => new ReleaseRefusedError(tag, reason);
    const started = performance.now();
    let pool: WorkerPool;
    try {
      pool = await WorkerPool.start({
        modelPath: release.modelPath,
        workers: this.workers,
        threads: this.threads,
        maxBatchSize: Math.max(1, this.opts.maxBatchSize ?? 1024),
        maxBatchDelayMs: Math.max(0, this.opts.maxBatchDelayMs ?? 2),
        logger: this.logger,
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
      this.logger.info(
        { model: project, version: tag, workers: this.workers, batching: canBatch, ms: Math.round(performance.now() - started) },
        'release verified and smoke-tested',
      );
      return { served: { name: project, version: tag, manifest, loadedAt: Date.now() }, pool, batchable: canBatch };
    } catch (err) {
      pool.terminate();
      throw err;
    }
  }

  /** New requests go to `next` from now on; the old release drains, then its workers stop. */
  private swap(next: Loaded): void {
    const old = this.current_;
    next.served.loadedAt = Date.now();
    this.current_ = next;
    this.logger.info({ model: this.name, version: next.served.version, previous: old?.served.version ?? null }, 'serving release');
    if (!old) return;
    this.draining.push(old);
    void old.pool.close().then(() => {
      const i = this.draining.indexOf(old);
      if (i >= 0) this.draining.splice(i, 1);
      this.logger.info({ model: this.name, version: old.served.version }, 'previous release drained and closed');
    });
  }

  private recordRefused(version: string, reason: string): void {
    this.refused_.push({ version, reason, at: Date.now() });
    if (this.refused_.length > MAX_REFUSED) this.refused_.splice(0, this.refused_.length - MAX_REFUSED);
    this.logger.error({ model: this.name, version, reason }, 'release refused');
  }

  private schedulePoll(): void {
    if (this.closing) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.pollOnce().finally(() => this.schedulePoll());
    }, Math.max(10, this.opts.pollIntervalMs ?? 1000));
    this.pollTimer.unref();
  }

  private pollOnce(): Promise<void> {
    this.polling = this.followLatest().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private warnOnce(problem: string, fields: Record<string, unknown>): void {
    if (problem === this.lastPollProblem) return;
    this.lastPollProblem = problem;
    this.logger.warn({ model: this.name, ...fields }, problem);
  }

  private async followLatest(): Promise<void> {
    const { store } = this;
    const { project } = this.opts;
    let tag: string | null;
    try {
      tag = await readLatestTag(store, project);
    } catch (err) {
      // Possibly caught mid-write: look again next time.
      this.warnOnce(`latest.json unreadable: ${(err as Error).message}`, {});
      return;
    }
    if (tag === null) return this.warnOnce('no latest.json yet; nothing to serve', { store: store.url });
    if (this.closing || this.current_?.served.version === tag) return;
    const files = await releaseFingerprint(store, project, tag);
    if (this.refusedFiles.has(tag) && this.refusedFiles.get(tag) === files) return;
    try {
      const loaded = await this.load(tag);
      if (this.closing) {
        loaded.pool.terminate();
        return;
      }
      this.lastPollProblem = '';
      this.swap(loaded);
    } catch (err) {
      if (err instanceof ReleaseMissingError) return this.warnOnce(err.message, { version: tag });
      const reason = err instanceof ReleaseRefusedError ? err.reason : `could not load: ${(err as Error).message}`;
      this.refusedFiles.set(tag, files);
      this.recordRefused(tag, reason);
    }
  }
}
