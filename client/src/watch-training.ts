import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import cliProgress from 'cli-progress';
import type { Stage, TrainingProgress, TrainingResult } from '@cd4ml/contracts';
import { progressQuery } from '@cd4ml/workflows/queries';
import type { TrainingOutcome } from './start-training.ts';
import { OutageReporter, isTemporalUnavailable } from './temporal-outage.ts';

/** How a run ended, as the CLI reports it: its result, or what failed. */
export type RunOutcome<T> = { kind: 'completed'; result: T } | { kind: 'failed'; message: string; type?: string };

/** The stages a full, accepted training passes through, for the progress bar's length. */
const PIPELINE: Stage[] = [
  'resolve', 'start-machine', 'checkout', 'dvc-pull', 'dvc-repro', 'stage-candidate',
  'evaluate', 'dvc-push', 'tag', 'publish', 'stop-machine',
];

export function describeStage(p: TrainingProgress): string {
  if (p.stage === 'lease') return `waiting for ${p.waitingFor ?? 'the location'}`;
  return p.stage;
}

export interface PendingStep {
  activity: string;
  attempt: number;
  /** The last heartbeat's details, e.g. { dvcStage: 'train' } while dvc repro runs. */
  heartbeat: { stage?: string; dvcStage?: string; imageStep?: string; line?: string; elapsedSeconds?: number } | null;
  lastFailure?: string;
  /** Seconds it has waited in its task queue with no worker taking it; 0 once started. */
  unclaimedSeconds: number;
  taskQueue?: string;
}

const SCHEDULED = 1; // PENDING_ACTIVITY_STATE_SCHEDULED: in the queue, no worker has it

/** The activity a training is in now, with its last heartbeat. */
export async function pendingStep(handle: WorkflowHandle): Promise<PendingStep | null> {
  const pending = (await handle.describe()).raw.pendingActivities?.[0];
  if (!pending) return null;
  let heartbeat: PendingStep['heartbeat'] = null;
  const payload = pending.heartbeatDetails?.payloads?.[0]?.data;
  if (payload) {
    try {
      heartbeat = JSON.parse(Buffer.from(payload).toString('utf8'));
    } catch {
      /* not JSON */
    }
  }
  const scheduledAt = Number(pending.scheduledTime?.seconds ?? 0) * 1000;
  return {
    unclaimedSeconds: pending.state === SCHEDULED && scheduledAt ? Math.max(0, (Date.now() - scheduledAt) / 1000) : 0,
    activity: pending.activityType?.name ?? '',
    attempt: pending.attempt ?? 1,
    heartbeat,
    lastFailure: pending.lastFailure?.message ?? undefined,
  };
}

/** Steps of the control worker, which runs the workflow itself: no location worker to point at. */
const CONTROL_STEPS = new Set(['resolveTraining', 'resolveImage', 'ensureImage']);

export async function describePendingStep(handle: WorkflowHandle): Promise<string> {
  const step = await pendingStep(handle);
  if (!step) return '';
  const parts: string[] = [];
  // A step nobody picks up usually means its worker is not running: say which one to start.
  if (step.unclaimedSeconds > 10 && !CONTROL_STEPS.has(step.activity)) {
    parts.push(`no worker has taken ${step.activity} for ${Math.round(step.unclaimedSeconds)} s: is the worker for this location running?`);
  }
  if (step.heartbeat?.dvcStage) parts.push(`stage ${step.heartbeat.dvcStage}`);
  else if (step.heartbeat?.imageStep) parts.push([step.heartbeat.imageStep, step.heartbeat.line?.slice(0, 60)].filter(Boolean).join(': '));
  else if (step.heartbeat?.line) parts.push(step.heartbeat.line.slice(0, 60));
  if (step.attempt > 1) parts.push(`attempt ${step.attempt}`);
  if (step.lastFailure) parts.push(`last error: ${step.lastFailure.split('\n')[0]!.slice(0, 80)}`);
  return parts.join(', ');
}

/** Follows a training until it ends (see followRun). */
export const watchTraining = (handle: WorkflowHandle, out: NodeJS.WriteStream = process.stdout): Promise<TrainingOutcome> =>
  followRun<TrainingResult>(handle, PIPELINE, out);

/**
 * Follows a run (a training, an image build) until it ends: a progress bar on
 * a terminal, a line per stage otherwise (CI logs). `stages` are the ones a
 * complete run passes through. Returns the outcome; never throws for a failed run.
 */
export async function followRun<T>(handle: WorkflowHandle, stages: Stage[], out: NodeJS.WriteStream = process.stdout): Promise<RunOutcome<T>> {
  const tty = Boolean(out.isTTY);
  const bar = tty
    ? new cliProgress.SingleBar(
        { format: '  {bar} {stage} {elapsed}s {detail}', barsize: 24, hideCursor: true, clearOnComplete: true, stream: out },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(stages.length, 0, { stage: 'starting', elapsed: '0.0', detail: '' });
  const printed = new Set<number>();
  const outage = OutageReporter.forHandle(handle, (line) => out.write(`${tty ? '\r\x1b[2K' : ''}  ${line}\n`));
  const done = resultThroughOutages<T>(handle, outage);
  let finished: RunOutcome<T> | undefined;
  void done.then((o) => (finished = o));
  let lastDetailAt = 0;
  let detail = '';
  let progress: TrainingProgress | undefined;

  const printStages = (p: TrainingProgress, all: boolean) => {
    p.stages.forEach((s, i) => {
      if (printed.has(i) || (s.endedAt === undefined && !all)) return;
      printed.add(i);
      const secs = (((s.endedAt ?? Date.now()) - s.startedAt) / 1000).toFixed(1);
      const line = `  ${s.stage === 'lease' ? `waited for the location` : s.stage} ${secs} s`;
      out.write(`${tty ? '\r\x1b[2K' : ''}${line}\n`);
    });
  };

  while (!finished) {
    // The server alone answers describe (a query needs the worker): its silence is an outage.
    if (!(await reachable(handle, outage))) {
      bar?.update({ ...outage.status(), detail: '' });
      await Promise.race([done, sleep(1000)]);
      continue;
    }
    try {
      progress = await handle.query(progressQuery);
      if (Date.now() - lastDetailAt > 2000) {
        detail = await describePendingStep(handle);
        lastDetailAt = Date.now();
      }
      printStages(progress, false);
      const elapsed = ((Date.now() - progress.stageStartedAt) / 1000).toFixed(1);
      if (bar) {
        bar.update(stages.filter((s) => progress!.stages.some((x) => x.stage === s && x.endedAt)).length, {
          stage: describeStage(progress), elapsed, detail: detail ? `(${detail})` : '',
        });
      }
    } catch {
      /* the run may have just closed; the loop ends on the result */
    }
    await Promise.race([done, sleep(500)]);
  }
  bar?.stop();
  if (progress) {
    try {
      printStages(await handle.query(progressQuery), true);
    } catch {
      printStages(progress, true);
    }
  }
  return finished;
}

/** Whether Temporal answers within PROBE_MS; reports the outage's start and end. */
async function reachable(handle: WorkflowHandle, outage: OutageReporter): Promise<boolean> {
  try {
    await handle.client.connection.withDeadline(Date.now() + PROBE_MS, () => handle.describe());
  } catch (err) {
    if (isTemporalUnavailable(err)) {
      outage.down(err);
      return false;
    }
  }
  outage.up();
  return true;
}

/** Longer than any healthy answer; short enough that a person sees the wait at once. */
const PROBE_MS = 3000;

/** The run's result, asked again while Temporal is away: an outage is not the run's failure. */
async function resultThroughOutages<T>(handle: WorkflowHandle, outage: OutageReporter): Promise<RunOutcome<T>> {
  for (;;) {
    try {
      const result: T = await handle.result();
      outage.up();
      return { kind: 'completed', result };
    } catch (err) {
      if (!isTemporalUnavailable(err)) return failureOutcome(err);
      outage.down(err);
      await sleep(1000);
    }
  }
}

export function failureOutcome(err: unknown): RunOutcome<never> {
  if (err instanceof WorkflowFailedError) {
    let cause: Error | undefined = err.cause;
    // The first ApplicationFailure names what went wrong; TemporalFailures around it say where.
    while (cause instanceof TemporalFailure && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
    if (cause instanceof ApplicationFailure) return { kind: 'failed', message: cause.message, type: cause.type ?? undefined };
    if (cause instanceof Error) return { kind: 'failed', message: cause.message };
  }
  return { kind: 'failed', message: (err as Error)?.message ?? String(err) };
}
