import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import {
  CONTROL_TASK_QUEUE, LeaseQuery, LeaseSignal, locationWorkflowId,
  type LeaseRequest, type LeaseState,
} from '@cd4ml/contracts';

/**
 * Joins the location's queue, starting the lease workflow if it is not
 * running (workflows cannot signal-with-start, hence an activity). Returns
 * who holds the location now, for the waiting run's progress.
 */
export async function requestLease(client: Client, input: { location: string; workflowId: string }): Promise<LeaseState> {
  const request: LeaseRequest = { workflowId: input.workflowId };
  const handle = await client.workflow.signalWithStart('locationLease', {
    workflowId: locationWorkflowId(input.location),
    taskQueue: CONTROL_TASK_QUEUE,
    args: [{ location: input.location }],
    signal: LeaseSignal.acquire,
    signalArgs: [request],
  });
  return handle.query<LeaseState>(LeaseQuery.state);
}

/** Whether a lease holder still runs; the lease reclaims the location from one that does not. */
export async function isWorkflowRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
