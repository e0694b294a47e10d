// Task queues and workflow ids: one place, so the CLI, workers and tests agree.
export const CONTROL_TASK_QUEUE = 'cd4ml-control';

export const locationTaskQueue = (location: string): string => `cd4ml-location-${location}`;
export const trainWorkflowId = (project: string, releaseTag: string): string => `train/${project}/${releaseTag}`;
export const imageWorkflowId = (project: string, contentHash: string): string => `image/${project}/${contentHash}`;
export const locationWorkflowId = (location: string): string => `location/${location}`;
export const nightlyScheduleId = (project: string): string => `nightly/${project}`;
