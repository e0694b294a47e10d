import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { TrainingProgress } from '@cd4ml/contracts';
import { pendingStep } from '@cd4ml/client/watch-training';
import { progressQuery } from '@cd4ml/workflows/queries';
import type { ExampleRepo } from '@cd4ml/client/demo/example-repo';

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 120_000,
  explain: () => Promise<string> = async () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${await explain().catch(String)}`);
    await sleep(200);
  }
}

/** Waits until dvc repro heartbeats that it runs the given DVC stage. */
export const waitForDvcStage = (handle: WorkflowHandle, stage: string) =>
  waitUntil(`dvc stage ${stage}`, async () => {
    const step = await pendingStep(handle);
    return step?.activity === 'dvcRepro' && step.heartbeat?.dvcStage === stage && step;
  }, 120_000, async () => {
    const p = await progressOf(handle);
    return `(run is at ${p.stage}; pending ${JSON.stringify(await pendingStep(handle))})`;
  });

export const progressOf = (handle: WorkflowHandle): Promise<TrainingProgress> => handle.query(progressQuery);

let slowdowns = 0;
/**
 * Makes the example's train stage take `seconds` longer (a real change to
 * dvc.yaml, committed). Each call's command is new, so DVC's run-cache cannot
 * skip the stage.
 */
export async function slowTrainStage(example: ExampleRepo, seconds: number): Promise<string> {
  const file = `${example.workDir}/dvc.yaml`;
  const cmd = `cmd: sleep ${seconds} && python src/train.py --slow ${process.pid}-${++slowdowns}`;
  const text = (await readFile(file, 'utf8')).replace(/cmd: (sleep \d+ && )?python src\/train\.py.*/, cmd);
  return example.writeFile('dvc.yaml', text, `train: slow down by ${seconds} s`);
}

export interface ActivityRun {
  name: string;
  /** The attempt recorded in ActivityTaskStarted (Temporal records only the last one); undefined if never started. */
  attempt?: number;
  outcome: 'scheduled' | 'completed' | 'failed' | 'timedOut' | 'canceled';
  /** The queue it was scheduled on, and the identity of the worker that started its last attempt: only with `{ workers: true }`. */
  taskQueue?: string;
  identity?: string;
  /** Event times, epoch ms: only with `{ times: true }`. */
  scheduledAt?: number;
  startedAt?: number;
  closedAt?: number;
}

const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : 0;

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;

/** The activities a workflow ran, from its history, in the order they were scheduled. */
export const activityRuns = async (handle: WorkflowHandle): Promise<ActivityRun[]> => activityRunsOf(await handle.fetchHistory());

export function activityRunsOf(history: History, { times = false, workers = false } = {}): ActivityRun[] {
  const byId = new Map<string, ActivityRun>();
  for (const e of history.events ?? []) {
    const at = (key: 'scheduledAt' | 'startedAt' | 'closedAt') => (times ? { [key]: eventMs(e.eventTime) } : {});
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byId.set(String(e.eventId), { name: scheduled.activityType?.name ?? '?', outcome: 'scheduled', ...(workers ? { taskQueue: scheduled.taskQueue?.name ?? undefined } : {}), ...at('scheduledAt') });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      Object.assign(byId.get(String(started.scheduledEventId))!, { attempt: started.attempt ?? undefined, ...(workers ? { identity: started.identity ?? undefined } : {}), ...at('startedAt') });
    }
    const ended: [ActivityRun['outcome'], { scheduledEventId?: unknown } | null | undefined][] = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timedOut', e.activityTaskTimedOutEventAttributes],
      ['canceled', e.activityTaskCanceledEventAttributes],
    ];
    for (const [outcome, attrs] of ended) if (attrs) Object.assign(byId.get(String(attrs.scheduledEventId))!, { outcome, ...at('closedAt') });
  }
  return [...byId.values()];
}

export const runsOf = (runs: ActivityRun[], name: string): ActivityRun[] => runs.filter((r) => r.name === name);
