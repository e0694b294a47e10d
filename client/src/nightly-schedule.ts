import { setTimeout as sleep } from 'node:timers/promises';
import { ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleOptions, type WorkflowHandle } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, NightlyRequest, describeInvalid, nightlyScheduleId, type NightlyRequestInput, type NightlyResult } from '@cd4ml/contracts';
import { DEFAULT_NIGHTLY, type NightlyTiming } from './nightly-timing.ts';

export { DEFAULT_NIGHTLY, type NightlyTiming };

/**
 * Creates the `nightly/<project>` schedule, or updates it in place (its
 * history of runs stays). A run still training when the next one is due makes
 * that one skip; a run missed while Temporal was down is made up within 12 hours.
 */
export async function setNightlySchedule(
  client: Client,
  input: NightlyRequestInput,
  timing: NightlyTiming = DEFAULT_NIGHTLY,
): Promise<{ scheduleId: string; created: boolean }> {
  const parsed = NightlyRequest.safeParse(input);
  if (!parsed.success) {
    throw new Error(describeInvalid('nightly request', parsed.error.issues));
  }
  if (timing.cron.trim().split(/\s+/).length !== 5) {
    throw new Error(`--cron must have 5 fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"; got ${JSON.stringify(timing.cron)}`);
  }
  const request = parsed.data;
  const scheduleId = nightlyScheduleId(request.project);
  const options: ScheduleOptions = {
    scheduleId,
    spec: { cronExpressions: [timing.cron], timezone: timing.timezone },
    action: { type: 'startWorkflow', workflowType: 'nightlyTraining', taskQueue: CONTROL_TASK_QUEUE, args: [request] },
    policies: { overlap: 'SKIP', catchupWindow: '12 hours' },
    memo: { purpose: `retrains ${request.project} on ${request.branch} when it holds new DVC data` },
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.update((prev) => ({ ...prev, spec: options.spec, action: options.action, policies: { ...prev.policies, ...options.policies } } as typeof prev));
    return { scheduleId, created: false };
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw invalidCron(err, timing);
  }
  await client.schedule.create(options).catch((err: unknown) => {
    throw invalidCron(err, timing);
  });
  return { scheduleId, created: true };
}

/** The SDK and the server check cron expressions and time zones: say which flags they refused. */
function invalidCron(err: unknown, timing: NightlyTiming): unknown {
  const message = (err as Error).message ?? String(err);
  if (/UNAVAILABLE|ECONNREFUSED|DEADLINE_EXCEEDED/.test(message)) return err;
  return new Error(`Temporal refused the schedule (--cron ${JSON.stringify(timing.cron)}, --timezone ${JSON.stringify(timing.timezone)}): ${message}`);
}

export async function describeNightly(client: Client, project: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(nightlyScheduleId(project)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

const notFound = (project: string) =>
  new Error(`no nightly schedule for ${project}: create it with "pnpm cd4ml nightly set --project ${project} --repo <url>"`);

/** Starts a nightly run now, as if it were due; resolves to its workflow id once the schedule has started it. */
export async function runNightlyNow(client: Client, project: string): Promise<string> {
  const handle = client.schedule.getHandle(nightlyScheduleId(project));
  let before: number;
  try {
    before = (await handle.describe()).info.numActionsTaken;
    await handle.trigger();
  } catch (err) {
    throw err instanceof ScheduleNotFoundError ? notFound(project) : err;
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { info } = await handle.describe();
    const last = info.recentActions.at(-1);
    if (info.numActionsTaken > before && last) return last.action.workflow.workflowId;
    if (Date.now() > deadline) throw new Error(`${nightlyScheduleId(project)} was triggered but started no run within 30 s: is it paused? See "pnpm cd4ml nightly show --project ${project}"`);
    await sleep(250);
  }
}

/** The training a nightly run started: found once it has started one; null when the run ended without. */
export async function nightlyTraining(client: Client, workflowId: string): Promise<WorkflowHandle | null> {
  const handle = client.workflow.getHandle(workflowId);
  for (;;) {
    const d = await handle.describe();
    const child = d.raw.pendingChildren?.[0]?.workflowId;
    if (child) return client.workflow.getHandle(child);
    if (d.status.name !== 'RUNNING') {
      const done = d.status.name === 'COMPLETED' ? ((await handle.result()) as NightlyResult).training : undefined;
      return done ? client.workflow.getHandle(done.workflowId) : null;
    }
    await sleep(250);
  }
}

export async function removeNightly(client: Client, project: string): Promise<void> {
  try {
    await client.schedule.getHandle(nightlyScheduleId(project)).delete();
  } catch (err) {
    throw err instanceof ScheduleNotFoundError ? notFound(project) : err;
  }
}

export interface NightlyRun {
  workflowId: string;
  takenAt: Date;
  /** running, completed, failed, ... */
  status: string;
  /** What the run found and did; set once it completed. */
  summary?: string;
}

/** The schedule's last runs, newest last, with what each found. */
export async function recentNightlyRuns(client: Client, schedule: ScheduleDescription, count = 5): Promise<NightlyRun[]> {
  return Promise.all(schedule.info.recentActions.slice(-count).map(async (a) => {
    const handle = client.workflow.getHandle(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId);
    const status = (await handle.describe()).status.name.toLowerCase();
    const run: NightlyRun = { workflowId: handle.workflowId, takenAt: a.takenAt, status };
    if (status === 'completed') run.summary = ((await handle.result()) as NightlyResult).summary;
    return run;
  }));
}
