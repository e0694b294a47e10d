import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { CONTROL_TASK_QUEUE, imageWorkflowId, type ImageRequestInput } from '@cd4ml/contracts';
import { resolveImage, type ImagePlan } from '@cd4ml/activities/image/resolve-image';

/** The CLI's own mirrors: apart from a control worker's, which may fetch into its own at the same time. */
const cliMirrors = () => path.resolve(process.env.CD4ML_HOME ?? '.cd4ml', 'cli-mirrors');

/**
 * Starts the image build of a commit, id `image/<project>/<contentHash>`, or
 * attaches to the one running for the same content. The hash is computed here,
 * from the repository, before anything starts: that needs the same git access
 * the control worker has. A finished build runs again: it finds the image and
 * only checks the tags.
 */
export async function startImageBuild(
  client: Client,
  request: ImageRequestInput,
  /** Wraps the calls to Temporal (the webhook gateway bounds them; the git fetch before is not). */
  temporalCalls: <R>(fn: () => Promise<R>) => Promise<R> = (fn) => fn(),
): Promise<{ handle: WorkflowHandle; attached: boolean; plan: ImagePlan; workflowId: string }> {
  const plan = await resolveImage({ mirrorsDir: cliMirrors() }, request);
  const workflowId = imageWorkflowId(plan.project, plan.contentHash);
  try {
    const handle = await temporalCalls(() => client.workflow.start('buildImage', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      // The resolved commit, so the workflow builds exactly what was hashed even if the branch moves.
      args: [{ ...request, commit: plan.commit }],
      staticSummary: `image ${plan.project} ${plan.contentHash} (${plan.branch} ${plan.commit.slice(0, 10)})`,
      staticDetails: `requested by ${request.requestedBy ?? 'unknown'}`,
    }));
    return { handle, attached: false, plan, workflowId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle(workflowId), attached: true, plan, workflowId };
  }
}
