import { OnnxError, SessionThread, type ModelSignature, type ResultMessage, type ValidInputs } from '@cd4ml/onnx';
import { concatRequests, splitOutputs } from './batch.ts';
import { InferenceError, type InferTensor } from './types.ts';
import type { Logger } from './logger.ts';

// The worker threads of one loaded release: each a SessionThread holding one
// onnxruntime session, running one job at a time. Requests queue here; when the model can
// be batched, queued requests are stacked along dimension 0 (up to
// maxBatchSize rows, or whatever arrived within maxBatchDelayMs) and run as one
// session.run on the least busy (= an idle) worker, then split back.

export interface PoolOptions {
  modelPath: string;
  workers: number;
  /** onnxruntime intra-op threads per session. */
  threads: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  logger: Logger;
  /** For log lines: project@tag. */
  label: string;
}

export interface JobResult {
  outputs: InferTensor[];
  queueMs: number;
  batchSize: number;
}

interface Job {
  inputs: InferTensor[];
  outputs: string[] | undefined;
  rows: number;
  enqueuedAt: number;
  /** Run alone (after a batch it was in failed or could not be split). */
  solo: boolean;
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

interface Running {
  id: number;
  jobs: Job[];
  started: number;
  batchSize: number;
}

interface Slot {
  index: number;
  thread: SessionThread;
  ready: boolean;
  gone: boolean;
  running: Running | null;
}

export class WorkerPool {
  /** Stack concurrent requests along dimension 0; set by the owner once the signature is known. */
  batching = false;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;
  private closing = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private respawnDelayMs = 200;

  private constructor(private readonly opts: PoolOptions, readonly signature: ModelSignature) {}

  /** Starts every worker and waits until each has loaded the model; throws OnnxError (phase 'load') otherwise. */
  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const started = await Promise.allSettled(Array.from({ length: opts.workers }, () => spawn(opts)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const r of started) if (r.status === 'fulfilled') r.value.close();
      throw failed.reason instanceof Error ? failed.reason : new OnnxError('load', String(failed.reason));
    }
    const ok = started.map((r) => (r as PromiseFulfilledResult<SessionThread>).value);
    const pool = new WorkerPool(opts, ok[0]!.signature);
    ok.forEach((thread, index) => pool.adopt(index, thread));
    return pool;
  }

  /** Requests queued or running. */
  inflight(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + (s.running?.jobs.length ?? 0), 0);
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Queues a validated request; resolves with its outputs. */
  submit(req: ValidInputs): Promise<JobResult> {
    if (this.closed) return Promise.reject(new InferenceError(503, `${this.opts.label} is closed`));
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({ inputs: req.inputs, outputs: req.outputs, rows: req.rows, enqueuedAt: performance.now(), solo: false, resolve, reject });
      this.pumpSoon();
    });
  }

  /** Runs the same inputs once on every worker (each holds its own session): the smoke test. */
  async runOnEach(inputs: InferTensor[]): Promise<InferTensor[][]> {
    // allSettled: never leave a run going on some worker (terminating a worker
    // in the middle of session.run aborts the whole process).
    const settled = await Promise.allSettled(this.slots.map((slot) => new Promise<InferTensor[]>((resolve, reject) => {
      if (!slot.ready || slot.running) return reject(new Error(`worker ${slot.index} is not idle`));
      const job: Job = {
        inputs, outputs: undefined, rows: 1, enqueuedAt: performance.now(), solo: true,
        resolve: (r) => resolve(r.outputs), reject,
      };
      this.send(slot, [job]);
    })));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<InferTensor[]>).value);
  }

  /** Test hook: makes worker `index` exit as if it had crashed. */
  crashWorkerForTest(index: number): void {
    this.slots[index]?.thread.crashForTest();
  }

  /** Waits until nothing is queued or running, then stops the workers. New requests are still accepted until then. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    this.pump();
    if (this.inflight() > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.terminate();
  }

  /**
   * Stops the workers now; anything queued or running fails with 503. A
   * worker inside session.run ends once the run returns (see SessionThread.close).
   */
  terminate(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const slot of this.slots) {
      slot.gone = true;
      slot.thread.close();
      this.failRunning(slot, `${this.opts.label} was shut down`);
    }
    for (const job of this.queue.splice(0)) job.reject(new InferenceError(503, `${this.opts.label} was shut down`));
    this.notifyIdle();
  }

  // ---- internals ----

  private adopt(index: number, thread: SessionThread): void {
    const slot: Slot = { index, thread, ready: true, gone: false, running: null };
    this.slots[index] = slot;
    thread.listen({ onResult: (msg) => this.onMessage(slot, msg), onGone: (reason) => this.onGone(slot, reason) });
    this.pump();
  }

  private onGone(slot: Slot, reason: string): void {
    if (slot.gone) return;
    slot.gone = true;
    slot.ready = false;
    this.opts.logger.error({ model: this.opts.label, worker: slot.index, reason }, 'inference worker lost; replacing it');
    this.failRunning(slot, `${reason}; the request was not completed, retry it`);
    this.notifyIdle();
    if (!this.closed) this.respawn(slot.index);
  }

  private respawn(index: number): void {
    spawn(this.opts).then(
      (thread) => {
        if (this.closed) return thread.close();
        this.respawnDelayMs = 200;
        this.adopt(index, thread);
      },
      (err: unknown) => {
        if (this.closed) return;
        this.opts.logger.error({ model: this.opts.label, worker: index, err: String(err) }, 'could not replace inference worker; retrying');
        if (!this.slots.some((s) => s.ready)) {
          for (const job of this.queue.splice(0)) job.reject(new InferenceError(503, `${this.opts.label} has no working inference worker`));
          this.notifyIdle();
        }
        const delay = this.respawnDelayMs;
        this.respawnDelayMs = Math.min(delay * 2, 30_000);
        setTimeout(() => this.respawn(index), delay).unref();
      },
    );
  }

  private failRunning(slot: Slot, message: string): void {
    const running = slot.running;
    slot.running = null;
    for (const job of running?.jobs ?? []) job.reject(new InferenceError(503, message));
  }

  private notifyIdle(): void {
    if (this.inflight() > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private freeSlot(): Slot | undefined {
    return this.slots.find((s) => s.ready && !s.gone && !s.running);
  }

  /**
   * Pumps once the event loop has handled the rest of this round's I/O: the
   * requests parsed in the same round go out as one batch, in one message
   * (waking a worker thread costs tens of µs on a busy VM), without a timer's delay.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const slot = this.freeSlot();
      if (!slot) return;
      const head = this.queue[0]!;
      if (!this.batching || head.solo) {
        this.send(slot, this.queue.splice(0, 1));
        continue;
      }
      const now = performance.now();
      let rows = 0;
      let take = 0;
      for (const job of this.queue) {
        if (job.solo || (take > 0 && rows + job.rows > this.opts.maxBatchSize)) break;
        rows += job.rows;
        take++;
      }
      const full = take < this.queue.length || rows >= this.opts.maxBatchSize;
      const waited = now - head.enqueuedAt;
      // Waiting for more rows only pays while other workers are busy (more requests are
      // coming and queue behind them); with every worker idle it is pure added latency.
      const othersBusy = this.slots.some((s) => s.running);
      if (!full && !this.closing && othersBusy && waited < this.opts.maxBatchDelayMs) {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.pump();
          }, Math.max(0, Math.ceil(this.opts.maxBatchDelayMs - waited)));
        }
        return;
      }
      this.send(slot, this.queue.splice(0, take));
    }
  }

  private send(slot: Slot, jobs: Job[]): void {
    const id = ++this.seq;
    const batched = jobs.length > 1;
    const inputs = batched ? concatRequests(jobs.map((j) => j.inputs)) : jobs[0]!.inputs;
    // The union of what the requests asked for; one that wants everything wins.
    const outputs = jobs.some((j) => !j.outputs) ? undefined : [...new Set(jobs.flatMap((j) => j.outputs ?? []))];
    // Concatenated inputs are fresh buffers nobody else holds: move them, don't copy.
    const transfer = batched ? inputs.flatMap((t) => (ArrayBuffer.isView(t.data) ? [t.data.buffer as ArrayBuffer] : [])) : [];
    const batchSize = this.batching ? jobs.reduce((n, j) => n + j.rows, 0) : 1;
    slot.running = { id, jobs, started: performance.now(), batchSize };
    try {
      slot.thread.run(id, inputs, outputs, transfer);
    } catch (err) {
      slot.running = null;
      for (const job of jobs) job.reject(new InferenceError(400, `inputs could not be sent to the model: ${(err as Error).message}`));
      this.notifyIdle();
    }
  }

  private onMessage(slot: Slot, msg: ResultMessage): void {
    const running = slot.running;
    if (!running || running.id !== msg.id) return;
    slot.running = null;
    const { jobs, started, batchSize } = running;
    const queueMs = (j: Job): number => Math.max(0, started - j.enqueuedAt);
    const pick = (outs: InferTensor[], j: Job): InferTensor[] =>
      j.outputs ? j.outputs.map((n) => outs.find((o) => o.name === n)).filter((o): o is InferTensor => !!o) : outs;
    if (!msg.ok) {
      if (jobs.length > 1) {
        // One bad request must not fail the others: run each alone.
        this.opts.logger.warn({ model: this.opts.label, batch: jobs.length, err: msg.message }, 'batched run failed; retrying its requests one by one');
        for (const j of jobs) j.solo = true;
        this.queue.unshift(...jobs);
      } else {
        jobs[0]!.reject(new Error(`model run failed: ${msg.message}`));
      }
    } else if (jobs.length === 1) {
      const j = jobs[0]!;
      j.resolve({ outputs: pick(msg.outputs, j), queueMs: queueMs(j), batchSize });
    } else {
      const parts = splitOutputs(msg.outputs, jobs.map((j) => j.rows));
      if (!parts) {
        this.opts.logger.warn({ model: this.opts.label }, 'batched outputs do not follow the batch dimension; batching switched off for this model');
        this.batching = false;
        for (const j of jobs) j.solo = true;
        this.queue.unshift(...jobs);
      } else {
        jobs.forEach((j, k) => j.resolve({ outputs: pick(parts[k]!, j), queueMs: queueMs(j), batchSize }));
      }
    }
    this.notifyIdle();
    this.pump();
  }
}

/** One worker with the model loaded (onnxruntime intra-op threads as configured). */
const spawn = (opts: PoolOptions): Promise<SessionThread> => SessionThread.start(opts.modelPath, { threads: opts.threads });
