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

/** Names of the activities a run scheduled, in order, and how many attempts each started. */
export async function activityAttempts(handle: WorkflowHandle): Promise<{ scheduled: string[]; attempts: Record<string, number>; completed: string[] }> {
  const history = await handle.fetchHistory();
  const byId = new Map<number, string>();
  const scheduled: string[] = [];
  const completed: string[] = [];
  const attempts: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const name = sched.activityType?.name ?? '';
      byId.set(Number(e.eventId), name);
      scheduled.push(name);
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const name = byId.get(Number(started.scheduledEventId)) ?? '';
      attempts[name] = Math.max(attempts[name] ?? 0, started.attempt ?? 1);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) completed.push(byId.get(Number(done.scheduledEventId)) ?? '');
  }
  return { scheduled, attempts, completed };
}
