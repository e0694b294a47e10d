import type { Client } from '@temporalio/client';
// A CommonJS package: a default import works under both node's ESM loader and vitest.
import proto from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { Context } from '@temporalio/activity';

/**
 * Whether a worker has polled the task queue since `sinceMs`. Temporal keeps
 * pollers listed for minutes after they go, so an old worker (from before the
 * machine was stopped) must not count: only polls after the machine started do.
 */
export async function workerPolledSince(client: Client, taskQueue: string, sinceMs: number): Promise<boolean> {
  const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (res.pollers ?? []).some((p) => tsToMs(p.lastAccessTime) >= sinceMs);
}

/** Waits (bounded) until the location's worker polls; false on timeout. Activity context only. */
export async function waitForWorker(
  client: Client, taskQueue: string,
  opts: { sinceMs: number; timeoutMs: number; everyMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await workerPolledSince(client, taskQueue, opts.sinceMs)) return true;
    if (Date.now() > deadline) return false;
    // Rejects with CancelledFailure when the activity is cancelled.
    await Context.current().sleep(opts.everyMs ?? 1000);
  }
}
