import type { WorkflowHandle } from '@temporalio/client';

/**
 * The release store a training used: in its plan, the result of resolveTraining in its history
 * (cd4ml.yaml's store, or the control worker's). Undefined when the run never got that far.
 */
export async function storeOfRun(handle: WorkflowHandle): Promise<string | undefined> {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'resolveTraining').map((e) => Number(e.eventId)));
  for (const e of events) {
    const done = e.activityTaskCompletedEventAttributes;
    if (!done || !scheduled.has(Number(done.scheduledEventId))) continue;
    const data = done.result?.payloads?.[0]?.data;
    if (!data) return undefined;
    const plan = JSON.parse(Buffer.from(data).toString('utf8')) as { store?: unknown };
    return typeof plan.store === 'string' ? plan.store : undefined;
  }
  return undefined;
}
