import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
type Timestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;

/** One activity of a run, as the Web UI's event history shows it. */
export interface Step {
  activity: string;
  state: 'completed' | 'failed' | 'timed out' | 'cancelled' | 'running';
  /** Attempts so far: the started event of a retried activity records its last attempt. */
  attempts: number;
  seconds?: number;
  failure?: string;
}

const ms = (t: Timestamp): number => {
  if (!t) return 0;
  const s = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return s * 1000 + (t.nanos ?? 0) / 1e6;
};

/** The activities of a run from its history, in the order they were scheduled. */
export function stepsOf(history: History, pending: { activityId?: string | null; attempt?: number | null; lastFailure?: { message?: string | null } | null }[] = []): Step[] {
  const byScheduled = new Map<number, Step & { activityId?: string; scheduledAt: number }>();
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      byScheduled.set(id, { activity: a.activityType?.name ?? '?', state: 'running', attempts: 0, activityId: a.activityId ?? undefined, scheduledAt: ms(e.eventTime as Timestamp) });
      continue;
    }
    const ended = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
    const started = e.activityTaskStartedEventAttributes;
    const step = byScheduled.get(Number((started ?? ended)?.scheduledEventId ?? -1));
    if (!step) continue;
    if (started) step.attempts = started.attempt ?? 1;
    if (!ended) continue;
    step.seconds = (ms(e.eventTime as Timestamp) - step.scheduledAt) / 1000;
    step.state = e.activityTaskCompletedEventAttributes ? 'completed' : e.activityTaskFailedEventAttributes ? 'failed' : e.activityTaskTimedOutEventAttributes ? 'timed out' : 'cancelled';
    const failure = e.activityTaskFailedEventAttributes?.failure ?? e.activityTaskTimedOutEventAttributes?.failure;
    if (failure?.message) step.failure = failure.message;
  }
  const steps = [...byScheduled.values()];
  for (const p of pending) {
    const step = steps.find((s) => s.state === 'running' && s.activityId === p.activityId);
    if (!step) continue;
    step.attempts = p.attempt ?? 1;
    if (p.lastFailure?.message) step.failure = p.lastFailure.message;
  }
  return steps.map(({ activityId: _id, scheduledAt: _at, ...s }) => s);
}

/** The steps as lines: activity, state, attempts, time, the first line of the last error. */
export function renderSteps(steps: Step[]): string[] {
  const width = Math.max(0, ...steps.map((s) => s.activity.length));
  return steps.map((s) => {
    const parts = [s.activity.padEnd(width), s.state.padEnd(9), `${s.attempts || 1} attempt${s.attempts > 1 ? 's' : ' '}`];
    if (s.seconds !== undefined) parts.push(`${s.seconds.toFixed(1)} s`);
    if (s.failure) parts.push(`last error: ${s.failure.split('\n')[0]!.slice(0, 100)}`);
    return `  ${parts.join('  ')}`;
  });
}
