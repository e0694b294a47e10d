import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { CONTROL_TASK_QUEUE, SweepRequest, describeInvalid, sweepWorkflowId, type SweepRequestInput } from '@cd4ml/contracts';
import { InvalidTrainingRequest, attachIfRunning } from './start-training.ts';

/** Starts a sweep, or attaches to the one running under the same project and tag; an ended one is not run again. */
export async function startSweep(client: Client, input: SweepRequestInput): Promise<{ handle: WorkflowHandle; attached: boolean }> {
  const parsed = SweepRequest.safeParse(input);
  if (!parsed.success) throw new InvalidTrainingRequest(describeInvalid('sweep request', parsed.error.issues));
  const request = parsed.data;
  const workflowId = sweepWorkflowId(request.project, request.releaseTag);
  try {
    const handle = await client.workflow.start('sweep', {
      taskQueue: CONTROL_TASK_QUEUE, workflowId, args: [request],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      staticSummary: `sweep ${request.project} ${request.releaseTag}`,
      staticDetails: `requested by ${request.requestedBy}${request.reason ? `: ${request.reason}` : ''}`,
    });
    return { handle, attached: false };
  } catch (err) {
    return attachIfRunning(client, workflowId, err);
  }
}
