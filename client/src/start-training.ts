import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { CONTROL_TASK_QUEUE, TrainingRequest, describeInvalid, trainWorkflowId, type TrainingRequestInput, type TrainingResult } from '@cd4ml/contracts';
import type { RunOutcome } from './watch-training.ts';

/** The request does not pass the contract: each problem named. */
export class InvalidTrainingRequest extends Error {
  override name = 'InvalidTrainingRequest';
}

/** A release tag is trained once: its training already ended. */
export class TrainingAlreadyRan extends Error {
  override name = 'TrainingAlreadyRan';
  constructor(readonly workflowId: string, readonly status: string) {
    super(
      `${workflowId} already ran (${status}): a release tag is trained once. ` +
        `See it with "pnpm cd4ml status ${workflowId}", or choose a new --tag.`,
    );
  }
}

/**
 * Starts a training, or attaches to the one already running for the same
 * project and tag: the same request twice is one training. A tag whose
 * training completed (accepted or rejected) is not trained again.
 */
export async function startTraining(
  client: Client,
  input: TrainingRequestInput,
): Promise<{ handle: WorkflowHandle; attached: boolean }> {
  const parsed = TrainingRequest.safeParse(input);
  if (!parsed.success) {
    throw new InvalidTrainingRequest(describeInvalid('training request', parsed.error.issues));
  }
  const request = parsed.data;
  const workflowId = trainWorkflowId(request.project, request.releaseTag);
  try {
    const handle = await client.workflow.start('trainModel', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [request],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `train ${request.project} ${request.releaseTag} on ${request.location}`,
      staticDetails: `requested by ${request.requestedBy}${request.reason ? `: ${request.reason}` : ''}`,
    });
    return { handle, attached: false };
  } catch (err) {
    return attachIfRunning(client, workflowId, err);
  }
}

/** A start refused because the id exists: the running run to attach to, or TrainingAlreadyRan for an ended one. */
export async function attachIfRunning(client: Client, workflowId: string, err: unknown): Promise<{ handle: WorkflowHandle; attached: true }> {
  if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  const handle = client.workflow.getHandle(workflowId);
  const { status } = await handle.describe();
  if (status.name === 'RUNNING') return { handle, attached: true };
  throw new TrainingAlreadyRan(workflowId, status.name.toLowerCase());
}

export type TrainingOutcome = RunOutcome<TrainingResult>;
