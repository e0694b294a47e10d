import { InputError } from '@cd4ml/onnx';
import type { Loaded } from './load.ts';
import type { RolloutMonitor } from './rollout.ts';
import { InferenceError, type InferRequest, type InferResult } from './types.ts';

// Where one request goes while a rollout runs. Canary: the request id's hash
// picks the side; a candidate that fails answers from live instead, so clients
// never see its faults (they are counted against it). Shadow: live answers, the
// candidate gets a copy whose answer is only compared.

export type RunOn = (target: Loaded, request: InferRequest) => Promise<InferResult>;

const isClientError = (err: unknown): boolean =>
  err instanceof InputError || (err instanceof InferenceError && err.status === 400);

export function inferDuringRollout(live: Loaded, candidate: Loaded, monitor: RolloutMonitor, request: InferRequest, run: RunOn): Promise<InferResult> {
  const onLive = (): Promise<InferResult> => {
    const started = performance.now();
    return run(live, request).then(
      (r) => {
        monitor.live.record(true, performance.now() - started, r.outputs);
        return r;
      },
      (err: unknown) => {
        if (!isClientError(err)) monitor.live.record(false, performance.now() - started, undefined);
        throw err;
      },
    );
  };

  if (monitor.spec.rollout.mode === 'shadow') {
    const answer = onLive();
    const started = performance.now();
    const copy = run(candidate, request);
    copy.then(
      (r) => monitor.candidate.record(true, performance.now() - started, r.outputs),
      (err: unknown) => {
        if (!isClientError(err)) monitor.candidate.record(false, performance.now() - started, undefined);
      },
    );
    Promise.all([answer, copy]).then(([l, c]) => monitor.compare(l.outputs, c.outputs), () => {});
    return answer;
  }

  if (!monitor.routesToCandidate(request.id)) return onLive();
  const started = performance.now();
  return run(candidate, request).then(
    (r) => {
      monitor.candidate.record(true, performance.now() - started, r.outputs);
      return r;
    },
    (err: unknown) => {
      if (isClientError(err)) throw err;
      monitor.candidate.record(false, performance.now() - started, undefined);
      return onLive();
    },
  );
}
