// Task queues and workflow ids: one place, so the CLI, workers and tests agree.
export const CONTROL_TASK_QUEUE = 'cd4ml-control';

/**
 * The queue a location's worker polls. A launched (per-training) instance gets
 * its own, suffixed with its instance id: a leaked instance's worker then
 * cannot take the next training's steps against a checkout it doesn't have.
 */
export const locationTaskQueue = (location: string, instanceId?: string): string =>
  instanceId ? `cd4ml-location-${location}-${instanceId}` : `cd4ml-location-${location}`;
/**
 * The queue of one location worker's own checkout (Temporal's worker-specific task
 * queue): every step of a training after its checkout runs here, so the steps
 * cannot split across workers. `workerKey` names the host and checkout folder, so
 * a restarted worker on the same disk serves the same queue.
 */
export const checkoutTaskQueue = (queue: string, workerKey: string): string => `${queue}@${workerKey}`;
/** Polled by every live worker of a location queue: who serves it, and asking one to step aside. */
export const workerAdminTaskQueue = (queue: string): string => `${queue}/admin`;
export const trainWorkflowId = (project: string, releaseTag: string): string => `train/${project}/${releaseTag}`;
export const imageWorkflowId = (project: string, contentHash: string): string => `image/${project}/${contentHash}`;
export const locationWorkflowId = (location: string): string => `location/${location}`;
export const nightlyScheduleId = (project: string): string => `nightly/${project}`;
export const fenceWorkflowId = (queue: string, nonce: string): string => `fence/${queue}/${nonce}`;
/**
 * One reaper per region and location: two projects may name a location the same in
 * different regions. `legacyReaperScheduleId` is the id before regions were in it; the
 * first start in a region replaces a legacy schedule that watched that region.
 */
export const reaperScheduleId = (region: string, location: string): string => `reaper/${region}/${location}`;
export const legacyReaperScheduleId = (location: string): string => `reaper/${location}`;
export const sweepWorkflowId = (project: string, releaseTag: string): string => `sweep/${project}/${releaseTag}`;
/** A sweep's trial n: a child of the sweep, named under it. */
export const sweepTrialWorkflowId = (project: string, releaseTag: string, n: number): string => `sweep/${project}/${releaseTag}/trial-${n}`;

/** A stage's output kept in the release store for `cd4ml logs`: per run, since a failed tag may run again. */
export const stageLogKey = (workflowId: string, runId: string, stage: string): string => `.runs/${workflowId}/${runId}/logs/${stage}.log`;
/** The bound on a kept stage log: its last bytes. */
export const STAGE_LOG_MAX_BYTES = 1024 * 1024;
