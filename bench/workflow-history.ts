/**
 * Shared by the benchmarks that read where a training's time went from its
 * workflow history (orchestration-overhead.ts, temporal-backends.ts), and
 * their small statistics.
 */
import { performance } from 'node:perf_hooks';
import { LeaseSignal } from '@cd4ml/contracts';
import type { Stack } from '../test/harness/stack.ts';
import { activityRunsOf, type History } from '../test/harness/training-probes.ts';

export interface HistoryBreakdown {
  /** Sum of the activities' own run time (started -> closed). */
  activityRun: number;
  /** Sum of time activities sat in a task queue (scheduled -> started). */
  queueWait: number;
  activities: number;
  workflowTasks: number;
  /** Activities that ran more than once (retries). */
  retries: number;
  /** Run time per activity type. */
  run: Record<string, number>;
  /** Server times, epoch ms: the workflow started, closed. */
  startedAt: number;
  closedAt: number;
  /** The requestLease activity closed (the training is in the location's line), and the grant arrived. */
  leaseRequestedAt?: number;
  grantedAt?: number;
  /** The training gave the location back (the release signal was sent). */
  releasedAt?: number;
  /** Activity run time from the grant on. */
  activityRunAfterGrant: number;
}

const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

/** Where the workflow's time went, from its recorded history. */
export async function breakdown(client: Stack['client'], workflowId: string): Promise<HistoryBreakdown> {
  return breakdownOf(await client.workflow.getHandle(workflowId).fetchHistory());
}

export function breakdownOf(history: History): HistoryBreakdown {
  const events = history.events ?? [];
  const out: HistoryBreakdown = {
    activityRun: 0, queueWait: 0, activities: 0, workflowTasks: 0, retries: 0, run: {},
    startedAt: eventMs(events[0]?.eventTime), closedAt: eventMs(events.at(-1)?.eventTime), activityRunAfterGrant: 0,
  };
  for (const e of events) {
    if (e.workflowTaskCompletedEventAttributes) out.workflowTasks++;
    if (e.workflowExecutionSignaledEventAttributes?.signalName === LeaseSignal.granted) out.grantedAt ??= eventMs(e.eventTime);
    if (e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === LeaseSignal.release) out.releasedAt ??= eventMs(e.eventTime);
  }
  for (const a of activityRunsOf(history, { times: true })) {
    out.activities++;
    if (a.startedAt !== undefined) out.queueWait += (a.startedAt - a.scheduledAt!) / 1000;
    out.retries += Math.max(0, (a.attempt ?? 1) - 1);
    if (a.name === 'requestLease' && a.closedAt !== undefined) out.leaseRequestedAt = a.closedAt;
    if (a.startedAt !== undefined && a.closedAt !== undefined && a.outcome !== 'canceled') {
      const run = (a.closedAt - a.startedAt) / 1000;
      out.activityRun += run;
      out.run[a.name] = (out.run[a.name] ?? 0) + run;
      if (out.grantedAt !== undefined && a.startedAt >= out.grantedAt) out.activityRunAfterGrant += run;
    }
  }
  return out;
}

/** Seconds the workflow ran (server clock) that no activity was running: orchestration. */
export const orchestrationSeconds = (h: HistoryBreakdown): number => (h.closedAt - h.startedAt) / 1000 - h.activityRun;

export const secondsSince = (t0: number): number => (performance.now() - t0) / 1000;

export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, secondsSince(t0)];
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Nearest rank: p90 of 10 values is the 9th smallest. */
export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** A number right-aligned in `width`, or '-'. */
export const fmt = (x: number | undefined, width = 8, digits = 2): string => (x === undefined ? '-' : x.toFixed(digits)).padStart(width);
