import { InputError, OnnxError, stopError } from './errors.ts';
import { SessionThread, type ResultMessage } from './session-thread.ts';
import type { ModelSignature, TypedTensor } from './tensor.ts';
import { validateInputs } from './validate.ts';

// The gate's use of a session thread: load the model, run these batches one
// after another, answer, end the thread. Outputs come back as typed arrays,
// their buffers moved from the thread, never boxed into number[].

export interface RunOnceOptions {
  /** Stops waiting at once; the thread ends as soon as onnxruntime returns (see SessionThread.close). */
  signal?: AbortSignal;
  /** Guards against a model that hangs; default 10 minutes. */
  timeoutMs?: number;
  /** onnxruntime intra-op threads; default onnxruntime's own (all cores). */
  threads?: number;
  /**
   * Copy the inputs to the thread instead of moving their buffers. Moving is
   * the default: it costs nothing, but leaves the caller's typed arrays empty.
   */
  keepInputs?: boolean;
}

export interface RunOnceResult {
  model: ModelSignature;
  /** Per batch, its outputs in the model's order (tensor outputs only). */
  results: TypedTensor[][];
}

/** Each input's buffer, listed once (postMessage refuses a buffer listed twice); a view moves its whole buffer. */
function buffersOf(inputs: readonly TypedTensor[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of inputs) {
    const d = t.data;
    if (ArrayBuffer.isView(d) && d.buffer instanceof ArrayBuffer && !out.includes(d.buffer)) out.push(d.buffer);
  }
  return out;
}

/** The answers of one thread, awaited one at a time. */
function answers(thread: SessionThread): () => Promise<ResultMessage> {
  let waiting: { resolve: (m: ResultMessage) => void; reject: (e: Error) => void } | null = null;
  let gone: string | null = null;
  thread.listen({
    onResult: (msg) => waiting?.resolve(msg),
    onGone: (reason) => {
      gone = reason;
      waiting?.reject(new OnnxError('run', `${reason} before answering`, thread.signature));
    },
  });
  return () => new Promise((resolve, reject) => {
    if (gone !== null) return reject(new OnnxError('run', `${gone} before answering`, thread.signature));
    waiting = { resolve, reject };
  });
}

/** Rejects when `signal` aborts, with stopError's reason. */
function abortion(signal: AbortSignal): Promise<never> {
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(stopError(signal));
    else signal.addEventListener('abort', () => reject(stopError(signal)), { once: true });
  });
  stopped.catch(() => {}); // only ever raced against
  return stopped;
}

/** The error, naming the model it happened on. */
function onModel(err: unknown, model: ModelSignature): OnnxError {
  // After the load, anything that goes wrong (e.g. inputs postMessage cannot send) is a failed run.
  if (!(err instanceof OnnxError)) return new OnnxError('run', err instanceof Error ? err.message : String(err), model);
  if (err.model) return err;
  return err instanceof InputError ? new InputError(err.message, model) : new OnnxError(err.phase, err.message, model);
}

/**
 * Loads the model in a fresh worker thread and runs each batch of inputs on
 * it; returns the model's signature and each batch's outputs. Inputs are
 * checked against the signature first (InputError, an OnnxError of phase
 * 'run', names the input and the shape the model expects). Load failures are
 * OnnxError phase 'load'; failed runs, cancellation and timeouts phase 'run'.
 */
export async function runModelOnce(
  modelPath: string,
  batches: readonly (readonly TypedTensor[])[],
  opts: RunOnceOptions = {},
): Promise<RunOnceResult> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new OnnxError('run', `no result after ${timeoutMs} ms`)), timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
  let thread: SessionThread;
  try {
    thread = await SessionThread.start(modelPath, { threads: opts.threads, signal, warm: true });
  } catch (err) {
    clearTimeout(timeout);
    throw err;
  }
  const stopped = abortion(signal);
  try {
    const model = thread.signature;
    const valid = batches.map((inputs) => validateInputs(model, { inputs }).inputs);
    const next = answers(thread);
    const results: TypedTensor[][] = [];
    for (const [id, inputs] of valid.entries()) {
      thread.run(id, inputs, undefined, opts.keepInputs ? [] : buffersOf(inputs));
      const msg = await Promise.race([next(), stopped]);
      if (!msg.ok) throw new OnnxError('run', msg.message, model);
      results.push(msg.outputs);
    }
    return { model, results };
  } catch (err) {
    throw onModel(err, thread.signature);
  } finally {
    clearTimeout(timeout);
    thread.close();
  }
}

/** Inputs and outputs from the model's metadata (free dimensions are -1), without running it. */
export async function describeModel(modelPath: string, opts?: RunOnceOptions): Promise<ModelSignature> {
  return (await runModelOnce(modelPath, [], opts)).model;
}
