import { log, proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { ControlActivities, ReapInput, ReapReport } from '@cd4ml/activities';

const { reapMachines: reap } = proxyActivities<ControlActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
});

/**
 * Run by the `reaper/<region>/<location>` schedule: switches off instances cd4ml
 * started for the location whose training ended more than the grace ago (never a
 * person's instance handed back after its training). What it stopped and what it
 * kept is its result; what it stopped, its details in the Web UI.
 */
export async function reapMachines(input: ReapInput): Promise<ReapReport> {
  const report = await reap(input);
  const lines = report.reaped.map((r) => `- ${r.action} ${r.instanceId}: ${r.reason}`);
  setCurrentDetails(`**reaper ${input.location} (${input.region})**: checked ${report.checked}, switched off ${report.reaped.length}\n\n${lines.join('\n')}`);
  if (report.reaped.length) log.warn('reaper switched off instances', { location: input.location, reaped: report.reaped });
  return report;
}
