import { setTimeout as sleep } from 'node:timers/promises';
import type { SweepRequestInput, SweepResult, SweepStatus } from '@cd4ml/contracts';
import { connectClient } from './connection.ts';
import { startSweep } from './start-sweep.ts';
import { renderSweepStatus } from './render-sweep.ts';

/** Starts (or attaches to) a sweep and, with `wait`, prints each trial's change of state and the table at the end. */
export async function sweepAndFollow(request: SweepRequestInput, wait: boolean): Promise<void> {
  const client = await connectClient();
  const { handle, attached } = await startSweep(client, request);
  console.log(`${attached ? 'attached to' : 'started'} ${handle.workflowId}`);
  if (!wait) return;
  const seen = new Map<number, string>();
  let done = false;
  const ended = handle.result().finally(() => void (done = true)) as Promise<SweepResult>;
  while (!done) {
    const s = await handle.query<SweepStatus>('sweepStatus').catch(() => undefined);
    for (const t of s?.trials ?? []) {
      if (seen.get(t.n) !== t.state) console.log(`trial ${t.n}: ${t.state}${typeof t.metric === 'number' ? ` (${s!.metric} ${t.metric})` : ''}`);
      seen.set(t.n, t.state);
    }
    await Promise.race([ended.catch(() => undefined), sleep(2000)]);
  }
  try {
    const result = await ended;
    console.log(renderSweepStatus(result));
    process.exitCode = result.release ? 0 : 3;
  } catch (err) {
    console.error(`${handle.workflowId} failed: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
    process.exitCode = 1;
  }
}
