import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { CONTROL_TASK_QUEUE, legacyReaperScheduleId, reaperScheduleId } from '@cd4ml/contracts';
import type { ReapInput } from './ec2/reaper.ts';

/** How often the reaper looks: a leaked GPU machine costs at most this long plus the grace period. */
export const REAPER_EVERY = '5 minutes';

/** The interval, overridable on the control worker (`CD4ML_REAPER_EVERY`, e.g. `5s` in tests). */
export const reaperEvery = (): string => process.env.CD4ML_REAPER_EVERY || REAPER_EVERY;

/**
 * Creates (or brings up to date) the schedule that runs the reaper for a
 * location in its region, `reaper/<region>/<location>`. Called whenever a
 * cloud machine starts, so every location that ever ran a machine is watched,
 * with the config it last ran with. A schedule under the old id
 * (`reaper/<location>`) that watched this region is deleted once the new one
 * exists; one that watches another region is left to that region's next start.
 */
export async function ensureReaperSchedule(client: Client, input: ReapInput): Promise<void> {
  const scheduleId = reaperScheduleId(input.region, input.location);
  const every = reaperEvery();
  const options: ScheduleOptions = {
    scheduleId,
    spec: { intervals: [{ every }] },
    action: { type: 'startWorkflow', workflowType: 'reapMachines', taskQueue: CONTROL_TASK_QUEUE, args: [input] },
    policies: { overlap: 'SKIP' },
    memo: { purpose: `stops cd4ml's instances for location ${input.location} in ${input.region} whose training is no longer running` },
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    const current = await handle.describe();
    const args = current.action.type === 'startWorkflow' ? current.action.args : undefined;
    const sameArgs = JSON.stringify(args) === JSON.stringify([input]);
    const sameEvery = current.spec.intervals?.length === 1 && msToNumber(current.spec.intervals[0]!.every) === msToNumber(every);
    if (!sameArgs || !sameEvery) {
      await handle.update((prev) => ({ ...prev, spec: options.spec, action: { ...prev.action, args: [input] } as typeof prev.action }));
    }
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(options).catch((e: unknown) => {
      // Another training created it in the meantime: fine.
      if (!(e instanceof ScheduleAlreadyRunning)) throw e;
    });
  }
  await retireLegacySchedule(client, input);
}

/** Deletes `reaper/<location>` when it watches the same region (the new schedule covers it). */
async function retireLegacySchedule(client: Client, input: ReapInput): Promise<void> {
  const legacy = client.schedule.getHandle(legacyReaperScheduleId(input.location));
  try {
    const current = await legacy.describe();
    const args = current.action.type === 'startWorkflow' ? current.action.args : undefined;
    const region = (args?.[0] as Partial<ReapInput> | undefined)?.region;
    if (region !== undefined && region !== input.region) return;
    await legacy.delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
