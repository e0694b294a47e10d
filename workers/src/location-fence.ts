import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
// A CommonJS package: a default import works under both node's ESM loader and vitest.
import proto from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { CONTROL_TASK_QUEUE, fenceWorkflowId, type FenceRequest, type LocationWorkerInfo } from '@cd4ml/contracts';
import type { LocationWorkerIdentity } from './location-identity.ts';

/** A live worker polls its admin queue at least once a minute (long polls last up to 70 s). */
const RECENT_POLL_MS = 2 * 60_000;
/**
 * The fence workflow answers in about FENCE_ANSWER_TIMEOUT once a control worker runs it;
 * a control worker still starting (bundling its workflows on a busy machine) can take tens
 * of seconds, so the deadline is generous and the wait is said after a few seconds.
 */
const ANSWER_DEADLINE_MS = 60_000;
const SAY_WAITING_MS = 10_000;

/** Another live worker already serves this location's queue. */
export class LocationTaken extends Error {
  constructor(readonly other: LocationWorkerInfo) {
    super(
      `${other.queue} is already served by ${other.identity} (host ${other.host}, checkouts in ${other.workdir}, since ${other.startedAt}). ` +
        'Two workers on one location would split a training\'s steps across two checkouts. Stop that worker first, ' +
        'or start this one with --replace: the other then takes no new training, finishes the steps of the one it runs, and stops.',
    );
    this.name = 'LocationTaken';
  }
}

/** Admin-queue pollers other than `me` seen recently: workers that may still be alive. */
async function recentPollers(client: Client, me: LocationWorkerIdentity): Promise<{ identity: string; agoS: number }[]> {
  const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;
  const res = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: me.adminQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  return (res.pollers ?? [])
    .filter((p) => p.identity && p.identity !== me.identity && now - tsToMs(p.lastAccessTime) < RECENT_POLL_MS)
    .map((p) => ({ identity: p.identity!, agoS: Math.round((now - tsToMs(p.lastAccessTime)) / 1000) }));
}

/** Runs the fenceLocation workflow on the control worker: the only way to reach another worker's queue. */
async function ask(
  client: Client, me: LocationWorkerIdentity, action: FenceRequest['action'], seen: string, log: (msg: string) => void,
): Promise<LocationWorkerInfo | null> {
  const request: FenceRequest = { adminQueue: me.adminQueue, action, by: me.identity };
  const handle = await client.workflow.start('fenceLocation', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId: fenceWorkflowId(me.queue, randomUUID()),
    args: [request],
    workflowExecutionTimeout: '1 minute',
  });
  const deadline = new AbortController();
  const late = sleep(ANSWER_DEADLINE_MS, 'late' as const, { signal: deadline.signal }).catch(() => 'late' as const);
  const waiting = setTimeout(() => log(`waiting for a control worker on ${CONTROL_TASK_QUEUE} to ask ${seen} whether it is still alive`), SAY_WAITING_MS);
  const answer = await Promise.race([handle.result() as Promise<LocationWorkerInfo | null>, late]).finally(() => {
    deadline.abort();
    clearTimeout(waiting);
  });
  if (answer !== 'late') return answer;
  await handle.terminate('no control worker answered').catch(() => undefined);
  throw new Error(
    `no control worker answered on ${CONTROL_TASK_QUEUE} within ${ANSWER_DEADLINE_MS / 1000} s, so cd4ml cannot tell whether ` +
      `${seen}, seen on ${me.queue}, is still alive. Start the control worker first, or stop that worker and wait two minutes.`,
  );
}

/**
 * Makes sure no other live worker serves `me.queue` before this one polls it. Pollers
 * stay listed for minutes after a worker goes, so a recent one is asked directly: a
 * live worker answers at once, a gone one does not. With `replace`, the other is asked
 * to step aside and this returns once nobody else answers.
 */
export async function fenceLocation(client: Client, me: LocationWorkerIdentity, opts: { replace: boolean; log: (msg: string) => void }): Promise<void> {
  const recent = await recentPollers(client, me);
  if (recent.length === 0) return;
  const seen = recent.map((p) => `${p.identity} (polled ${p.agoS} s ago)`).join(', ');
  for (let round = 0; round < 5; round++) {
    const other = await ask(client, me, 'describe', seen, opts.log);
    if (!other || other.retiring) return;
    if (!opts.replace) throw new LocationTaken(other);
    opts.log(`replacing ${other.identity}: it takes no new training and stops once its running steps are done`);
    await ask(client, me, 'retire', seen, opts.log);
  }
  throw new Error(`workers on ${me.queue} keep answering after being asked to step aside (last seen: ${seen}); stop them by hand`);
}
