import { ServiceError, type WorkflowHandle } from '@temporalio/client';

// gRPC codes of a server that is down or cannot reach its database: worth waiting out.
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** True when `err` says Temporal could not be reached, not that the run failed. */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === UNAVAILABLE || code === DEADLINE_EXCEEDED) return true;
    if (e instanceof ServiceError && /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED/.test(e.message)) return true;
  }
  return false;
}

/**
 * What the CLI says while Temporal is away: a run in flight is not lost when the server
 * restarts, so the CLI waits for it instead of exiting, and says so once, then once again
 * when the server is back.
 */
export class OutageReporter {
  private since: number | undefined;

  constructor(private readonly address: string, private readonly say: (line: string) => void) {}

  static forHandle(handle: WorkflowHandle, say: (line: string) => void): OutageReporter {
    // A Connection knows its address; other ConnectionLikes (tests) do not.
    const { options } = handle.client.connection as { options?: { address?: string } };
    return new OutageReporter(options?.address ?? 'the configured address', say);
  }

  get waiting(): boolean {
    return this.since !== undefined;
  }

  /** For the progress bar while waiting: what, and for how many seconds. */
  status(): { stage: string; elapsed: string } {
    return { stage: `waiting for Temporal at ${this.address}`, elapsed: ((Date.now() - (this.since ?? Date.now())) / 1000).toFixed(1) };
  }

  down(err: unknown): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    const why = (err as Error)?.message?.split('\n')[0]?.slice(0, 100) ?? String(err);
    this.say(`waiting for Temporal at ${this.address}: ${why}; the run goes on and this command reconnects by itself`);
  }

  up(): void {
    if (this.since === undefined) return;
    this.say(`Temporal at ${this.address} answers again after ${((Date.now() - this.since) / 1000).toFixed(0)} s`);
    this.since = undefined;
  }
}
