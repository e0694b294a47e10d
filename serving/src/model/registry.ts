import type { ReleaseStore } from '@cd4ml/stores';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ServingState } from '@cd4ml/contracts';
import { InputError, validateInputs } from '@cd4ml/onnx';
import { refuseCandidate } from '../channels/state.ts';
import { readServingState, updateServingState } from '../channels/store.ts';
import { loadRelease, type Loaded, type LoadOptions } from './load.ts';
import { ReleaseMissingError, ReleaseRefusedError, releaseFingerprint } from './release.ts';
import type { Logger } from './logger.ts';
import { loadOptionsOf, type ModelRegistryOptions } from './registry-options.ts';
import { RolloutMonitor } from './rollout.ts';
import { decideRollout, rolloutStatus } from './rollout-control.ts';
import { inferDuringRollout } from './route.ts';
import {
  InferenceError, type InferRequest, type InferResult, type ModelRegistry, type RefusedRelease, type RolloutStatus, type ServedModel,
} from './types.ts';

export type { ModelRegistryOptions } from './registry-options.ts';

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
  private readonly loadOptions: LoadOptions;
  /** Names this replica in serving.json's decisions. */
  readonly replicaId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private current_: Loaded | null = null;
  private candidate_: Loaded | null = null;
  private monitor: RolloutMonitor | null = null;
  private state_: ServingState | null = null;
  /** Set while the store cannot be read or written: rollout decisions wait, live keeps serving. */
  private storeProblem: string | null = null;
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
    this.loadOptions = loadOptionsOf(opts);
    ({ store: this.store, logger: this.logger } = this.loadOptions);
  }

  async start(): Promise<void> {
    const { tag } = this.opts;
    if (tag !== undefined) {
      try {
        this.swap(await loadRelease(this.loadOptions, tag));
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
    return [this.current_, this.candidate_, ...this.draining]
      .filter((l): l is Loaded => l !== null && !l.pool.isClosed())
      .map((l) => l.served);
  }

  refused(): RefusedRelease[] {
    return [...this.refused_];
  }

  infer(request: InferRequest): Promise<InferResult> {
    // Synchronous up to submit(): a swap cannot slip between picking the
    // version and queueing on its pool.
    try {
      if (this.closing) throw new InferenceError(503, `model ${this.name} is shutting down`);
      const current = this.current_;
      if (!current) throw new InferenceError(503, `model ${this.name} is not ready: no release has passed its checks yet`);
      if (request === null || typeof request !== 'object') throw new InferenceError(400, 'the request needs inputs');
      const version = request.version;
      if (version !== undefined && version !== '' && version !== current.served.version) {
        const other = [this.candidate_, ...this.draining].find((d) => d?.served.version === version && !d.pool.isClosed());
        if (!other) {
          throw new InferenceError(404, `model ${this.name} version ${version} not found; serving ${current.served.version}`);
        }
        return this.runOn(other, request);
      }
      const { candidate_: candidate, monitor } = this;
      if ((version === undefined || version === '') && candidate && monitor) {
        return inferDuringRollout(current, candidate, monitor, request, this.runOn);
      }
      return this.runOn(current, request);
    } catch (err) {
      return Promise.reject(err instanceof InputError ? new InferenceError(400, err.message) : err);
    }
  }

  rollout(): RolloutStatus | null {
    return rolloutStatus(this.state_, this.monitor, this.candidate_ !== null, this.storeProblem);
  }

  servingState(): ServingState | null {
    return this.state_;
  }

  private readonly runOn = (target: Loaded, request: InferRequest): Promise<InferResult> => {
    try {
      const valid = validateInputs(target.served.manifest.model, request, target.batchable);
      const served = target.served;
      return target.pool.submit(valid).then((r) => ({ model: served, outputs: r.outputs, queueMs: r.queueMs, batchSize: r.batchSize }));
    } catch (err) {
      return Promise.reject(err instanceof InputError ? new InferenceError(400, err.message) : err);
    }
  };

  async close(): Promise<void> {
    this.closing = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.polling;
    const all = [this.current_, this.candidate_, ...this.draining].filter((l): l is Loaded => l !== null);
    await Promise.all(all.map((l) => l.pool.close()));
    this.current_ = null;
    this.candidate_ = null;
    this.monitor = null;
    this.draining.length = 0;
  }

  // ---- loading and following releases ----

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
    this.polling = this.follow().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private warnOnce(problem: string, fields: Record<string, unknown>): void {
    if (problem === this.lastPollProblem) return;
    this.lastPollProblem = problem;
    this.logger.warn({ model: this.name, ...fields }, problem);
  }

  /** One look at serving.json (or latest.json): the live release, the candidate, then the rollout's verdict. */
  private async follow(): Promise<void> {
    const { store } = this;
    const { project } = this.opts;
    let state: ServingState;
    try {
      state = (await readServingState(store, project)).state;
      this.storeProblem = null;
    } catch (err) {
      // Unreachable, or caught mid-write: live keeps serving, a rollout keeps its split but decides nothing.
      this.storeProblem = `store unreadable, rollout paused: ${(err as Error).message}`;
      this.warnOnce(this.storeProblem, {});
      return;
    }
    await this.apply(state);
    await this.judge();
  }

  /** Serves what `state` says: its live release, and its candidate with a monitor for the current step. */
  private async apply(state: ServingState): Promise<void> {
    this.state_ = state;
    const tag = state.live;
    if (tag === null) return this.warnOnce('no latest.json or serving.json yet; nothing to serve', { store: this.store.url });
    if (this.closing) return;
    if (this.current_?.served.version !== tag) {
      const candidate = this.candidate_;
      if (candidate?.served.version === tag) {
        // The rollout completed: the candidate's loaded pool becomes live as it is.
        this.candidate_ = null;
        this.monitor = null;
        this.swap(candidate);
      } else await this.loadLive(tag);
    }
    await this.followCandidate(state);
  }

  private async loadLive(tag: string): Promise<void> {
    const { store } = this;
    const files = await releaseFingerprint(store, this.opts.project, tag);
    if (this.refusedFiles.has(tag) && this.refusedFiles.get(tag) === files) return;
    try {
      const loaded = await loadRelease(this.loadOptions, tag);
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

  /** Loads the candidate serving.json names (refusing it there if it fails its checks), or drops one no longer named. */
  private async followCandidate(state: ServingState): Promise<void> {
    const want = state.candidate;
    if (!want || want.tag === this.current_?.served.version) return this.dropCandidate();
    if (this.candidate_?.served.version !== want.tag) {
      this.dropCandidate();
      try {
        const loaded = await loadRelease(this.loadOptions, want.tag);
        if (this.closing) return loaded.pool.terminate();
        this.candidate_ = loaded;
      } catch (err) {
        if (err instanceof ReleaseMissingError) return this.warnOnce(err.message, { version: want.tag });
        const reason = err instanceof ReleaseRefusedError ? err.reason : `could not load: ${(err as Error).message}`;
        this.recordRefused(want.tag, reason);
        await this.write((s) => (s.candidate?.tag === want.tag ? refuseCandidate(s, `refused at load, live untouched: ${reason}`, this.replicaId) : null));
        return;
      }
    }
    if (!this.monitor || RolloutMonitor.keyOf(this.monitor.spec) !== RolloutMonitor.keyOf(want)) {
      this.monitor = new RolloutMonitor(want, this.monitor?.spec.tag === want.tag ? this.monitor : null);
    }
  }

  private dropCandidate(): void {
    const old = this.candidate_;
    this.candidate_ = null;
    this.monitor = null;
    if (old) void old.pool.close();
  }

  /** Writes the rollout's verdict once a limit is broken or the step's time is up; another replica may have written first. */
  private async judge(): Promise<void> {
    const { monitor } = this;
    if (!monitor || !this.candidate_ || this.storeProblem) return;
    const verdict = decideRollout(monitor, this.replicaId);
    if (!verdict) return;
    const next = await this.write(verdict.change);
    if (next) await this.apply(next); // the new step's split (or live) at once, not at the next poll
    if (next) this.logger.info({ model: this.name, version: monitor.spec.tag, action: verdict.action, reason: verdict.reason }, `rollout: ${verdict.action}`);
  }

  private async write(change: (s: ServingState) => ServingState | null): Promise<ServingState | null> {
    try {
      const next = await updateServingState(this.store, this.opts.project, change);
      if (next) this.state_ = next;
      return next;
    } catch (err) {
      this.storeProblem = `store unwritable, rollout paused: ${(err as Error).message}`;
      this.warnOnce(this.storeProblem, {});
      return null;
    }
  }
}
