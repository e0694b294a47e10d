import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, reaperScheduleId } from '@cd4ml/contracts';
import type { ReapInput } from './ec2/reaper.ts';

/** How often the reaper looks: a leaked GPU machine costs at most this long plus the grace period. */
export const REAPER_EVERY = '5 minutes';

/**
 * Creates (or brings up to date) the schedule that runs the reaper for a
 * location. Called whenever a cloud machine starts, so every location that
 * ever ran a machine is watched, with the config it last ran with.
 */
export async function ensureReaperSchedule(client: Client, input: ReapInput): Promise<void> {
  const scheduleId = reaperScheduleId(input.location);
  const options: ScheduleOptions = {
    scheduleId,
    spec: { intervals: [{ every: REAPER_EVERY }] },
    action: { type: 'startWorkflow', workflowType: 'reapMachines', taskQueue: CONTROL_TASK_QUEUE, args: [input] },
    policies: { overlap: 'SKIP' },
    memo: { purpose: `stops cd4ml's instances for location ${input.location} whose training is no longer running` },
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    const current = await handle.describe();
    const args = current.action.type === 'startWorkflow' ? current.action.args : undefined;
    if (JSON.stringify(args) === JSON.stringify([input])) return;
    await handle.update((prev) => ({ ...prev, action: { ...prev.action, args: [input] } as typeof prev.action }));
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(options).catch((e: unknown) => {
      // Another training created it in the meantime: fine.
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    });
  }
}
