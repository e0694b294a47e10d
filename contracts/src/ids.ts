// Task queues and workflow ids: one place, so the CLI, workers and tests agree.
export const CONTROL_TASK_QUEUE = 'cd4ml-control';

/**
 * The queue a location's worker polls. A launched (per-training) instance gets
 * its own, suffixed with its instance id: a leaked instance's worker then
 * cannot take the next training's steps against a checkout it doesn't have.
 */
export const locationTaskQueue = (location: string, instanceId?: string): string =>
  instanceId ? `cd4ml-location-${location}-${instanceId}` : `cd4ml-location-${location}`;
export const trainWorkflowId = (project: string, releaseTag: string): string => `train/${project}/${releaseTag}`;
export const imageWorkflowId = (project: string, contentHash: string): string => `image/${project}/${contentHash}`;
export const locationWorkflowId = (location: string): string => `location/${location}`;
export const nightlyScheduleId = (project: string): string => `nightly/${project}`;
export const reaperScheduleId = (location: string): string => `reaper/${location}`;
