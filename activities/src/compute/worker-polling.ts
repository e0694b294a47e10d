import type { Client } from '@temporalio/client';
// A CommonJS module: Node's ESM loader (tsx, outside vitest) sees only its default export.
import proto from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { sleep } from './ec2/instances.ts';

/**
 * Whether a worker has polled the task queue since `sinceMs`. Temporal keeps
 * pollers listed for minutes after they go, so an old worker (from before the
 * machine was stopped) must not count: only polls after the machine started do.
 */
const { temporal } = proto;

export async function workerPolledSince(client: Client, taskQueue: string, sinceMs: number): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (res.pollers ?? []).some((p) => tsToMs(p.lastAccessTime) >= sinceMs);
}

/** Waits (bounded) until the location's worker polls; false on timeout. */
export async function waitForWorker(
  client: Client, taskQueue: string,
  opts: { sinceMs: number; timeoutMs: number; signal?: AbortSignal; everyMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await workerPolledSince(client, taskQueue, opts.sinceMs)) return true;
    if (Date.now() > deadline) return false;
    await sleep(opts.everyMs ?? 1000, opts.signal);
  }
}
