import { Context } from '@temporalio/activity';

/**
 * Heartbeats the latest progress every few seconds, even while a stage is
 * silent, so the heartbeat timeout only fires when the worker is really gone
 * and cancellation reaches us promptly.
 */
export function startHeartbeats<T extends object>(initial: T, everyMs = 2000) {
  const ctx = Context.current();
  let details: T = initial;
  const started = Date.now();
  const beat = () => ctx.heartbeat({ ...details, elapsedSeconds: Math.round((Date.now() - started) / 1000) });
  beat();
  const timer = setInterval(beat, everyMs);
  return {
    signal: ctx.cancellationSignal,
    update(next: Partial<T>) {
      details = { ...details, ...next };
      beat();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
