import { Worker } from 'node:worker_threads';
import type { TensorSpec } from '@cd4ml/contracts';
import { ORT_TYPES } from './datatypes.ts';
import { OnnxError, stopError } from './errors.ts';
import type { ModelSignature, TypedTensor } from './tensor.ts';

// The main-thread side of session-worker.mjs: one worker thread holding one
// onnxruntime session. The gate's runModelOnce and serving's pool both drive
// it. Terminating a thread while it is inside onnxruntime (loading the model
// or in session.run) aborts the whole process (onnxruntime-node throws a C++
// exception into a dying thread), so close() waits for the call to return.

export type ResultMessage =
  | { type: 'result'; id: number; ok: true; outputs: TypedTensor[] }
  | { type: 'result'; id: number; ok: false; message: string };

type WorkerMessage =
  | { type: 'ready'; inputs: TensorSpec[]; outputs: TensorSpec[] }
  | { type: 'failed'; message: string }
  | ResultMessage;

export interface ThreadListener {
  /** The answer to run(id, ...). */
  onResult(msg: ResultMessage): void;
  /** The thread crashed or exited by itself; nothing more will come from it. */
  onGone(reason: string): void;
}

export interface StartOptions {
  /** onnxruntime intra-op threads for the session; default onnxruntime's own (all cores). */
  threads?: number;
  /** Gives up waiting for the model to load; the thread ends once loading returns. */
  signal?: AbortSignal;
  /**
   * Take a spare thread with onnxruntime already loaded, and start the next spare
   * for later: starting a thread and loading onnxruntime costs ~60 ms, more than
   * the gate's whole run on a small holdout. For short-lived threads (the gate).
   */
  warm?: boolean;
}

const WORKER_URL = new URL('./session-worker.mjs', import.meta.url);
/** Spares ready for `warm` starts: the gate runs two models at once (candidate and baseline). */
const SPARES = 2;
const spares: Worker[] = [];

// execArgv []: the script is plain JS and needs none of the parent's flags; tsx's loader
// (`tsx`, `--import tsx`) would otherwise start in every thread, ~80 ms each.
const spawnWorker = (): Worker => new Worker(WORKER_URL, { workerData: { ortTypes: ORT_TYPES }, execArgv: [] });

/** An idle spare does not keep the process alive; one that fails is dropped. */
function addSpare(): void {
  const worker = spawnWorker();
  worker.unref();
  const drop = (): void => {
    const i = spares.indexOf(worker);
    if (i >= 0) spares.splice(i, 1);
  };
  worker.once('error', drop);
  worker.once('exit', drop);
  spares.push(worker);
}

function takeWorker(warm: boolean): Worker {
  if (!warm) return spawnWorker();
  const worker = spares.shift() ?? spawnWorker();
  worker.removeAllListeners('error').removeAllListeners('exit');
  worker.ref();
  while (spares.length < SPARES) addSpare();
  return worker;
}

export class SessionThread {
  /** Runs sent and not answered: while > 0 the thread is inside onnxruntime (or about to be). */
  private running = 0;
  private closing = false;
  private listener: ThreadListener | null = null;
  /** Why the thread ended by itself, kept for a listener that comes later. */
  private gone: string | null = null;

  private constructor(private readonly worker: Worker, readonly signature: ModelSignature) {
    worker.on('message', (msg: WorkerMessage) => this.onMessage(msg));
    worker.on('error', (err) => this.onEnd(`inference worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.onEnd(`inference worker exited with code ${code}`));
  }

  /** Starts a thread and waits until its session has loaded the model; rejects with OnnxError. */
  static start(modelPath: string, opts: StartOptions = {}): Promise<SessionThread> {
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(stopError(signal));
    const worker = takeWorker(opts.warm ?? false);
    worker.postMessage({ type: 'load', modelPath, threads: opts.threads });
    return new Promise((resolve, reject) => {
      let abandoned = false;
      const done = (): void => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
      };
      const onMessage = (msg: WorkerMessage): void => {
        done();
        if (abandoned || msg.type !== 'ready') void worker.terminate();
        if (abandoned) return;
        if (msg.type === 'ready') resolve(new SessionThread(worker, { inputs: msg.inputs, outputs: msg.outputs }));
        else reject(new OnnxError('load', `onnxruntime could not load the model: ${msg.type === 'failed' ? msg.message : 'no answer'}`));
      };
      const onError = (err: Error): void => {
        done();
        worker.off('message', onMessage);
        void worker.terminate();
        reject(new OnnxError('load', `inference worker failed while loading: ${err.message}`));
      };
      const onExit = (code: number): void => {
        done();
        worker.off('message', onMessage);
        reject(new OnnxError('load', `inference worker exited with code ${code} while loading`));
      };
      // Loading is one blocking call: stop waiting now, end the thread when it returns.
      const onAbort = (): void => {
        abandoned = true;
        worker.unref();
        reject(stopError(signal!));
      };
      worker.once('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Results and the thread's end go to `listener` (one per thread: no closure per run). */
  listen(listener: ThreadListener): void {
    this.listener = listener;
    if (this.gone !== null) listener.onGone(this.gone);
  }

  private onMessage(msg: WorkerMessage): void {
    if (msg.type !== 'result') return;
    this.running--;
    if (!this.closing) this.listener?.onResult(msg);
    else if (this.running <= 0) void this.worker.terminate();
  }

  private onEnd(reason: string): void {
    if (this.closing || this.gone !== null) return;
    this.gone = reason;
    void this.worker.terminate();
    this.listener?.onGone(reason);
  }

  /**
   * Sends one run; the answer comes to the listener with the same id. Buffers
   * in `transfer` move to the thread (they are empty here afterwards). Throws
   * when the inputs cannot be posted (e.g. a buffer that cannot move).
   */
  run(id: number, inputs: readonly TypedTensor[], outputs: readonly string[] | undefined, transfer: readonly ArrayBuffer[]): void {
    this.worker.postMessage({ type: 'run', id, inputs, outputs }, transfer as ArrayBuffer[]);
    this.running++;
  }

  /**
   * Ends the thread: now when idle, else as soon as its run returns (answers
   * still to come are dropped). A run that never returns keeps its thread, but
   * no longer keeps the process alive.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.worker.unref();
    if (this.running <= 0) void this.worker.terminate();
  }

  /** Test hook: makes the thread exit as if it had crashed. */
  crashForTest(): void {
    this.worker.postMessage({ type: 'exit' });
  }
}
