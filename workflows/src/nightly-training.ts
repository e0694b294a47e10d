import { ParentClosePolicy, executeChild, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { ControlActivities } from '@cd4ml/activities';
import { nightlyReleaseTag, type NightlyRequestInput, type NightlyResult } from '@cd4ml/contracts/triggers';
import { trainWorkflowId } from '@cd4ml/contracts/ids';
import type { TrainingRequestInput } from '@cd4ml/contracts/training';
import { retry, surfaced } from './activity-options.ts';
import { trainModel } from './train-model.ts';

const { findNewData } = proxyActivities<ControlActivities>({ startToCloseTimeout: '5 minutes', retry });

/**
 * Run by the `nightly/<project>` schedule: retrains when the branch head holds
 * data the latest release was not trained on, as a child `trainModel` with the
 * tag `nightly-<UTC time>`; otherwise ends at once, saying why.
 */
export async function nightlyTraining(input: NightlyRequestInput): Promise<NightlyResult> {
  const found = await findNewData(input).catch((err: unknown) => {
    throw surfaced(err);
  });
  const base = { commit: found.commit, latestTag: found.latestTag, changed: found.changed };
  const since = found.latestTag ? `since ${found.latestTag}` : 'and no release yet';
  if (found.changed.length === 0) {
    const summary = `no new data at ${found.commit.slice(0, 8)} ${since}: nothing to train`;
    setCurrentDetails(`**nightly ${input.project}**: ${summary}`);
    return { ...base, summary };
  }

  const releaseTag = nightlyReleaseTag(workflowInfo().startTime);
  const workflowId = trainWorkflowId(input.project, releaseTag);
  const paths = found.changed.map((c) => c.path).join(', ');
  const summary = `new data in ${paths} ${since}: training ${releaseTag} at ${found.commit.slice(0, 8)}`;
  setCurrentDetails(`**nightly ${input.project}**: ${summary}\n\ntraining: \`${workflowId}\``);
  const request: TrainingRequestInput = {
    project: input.project, repoUrl: input.repoUrl, branch: input.branch ?? 'main', commit: found.commit,
    releaseTag, location: input.location ?? 'local', configPath: input.configPath ?? 'cd4ml.yaml',
    requestedBy: 'nightly schedule', reason: `nightly: new data in ${paths}`,
  };
  const result = await executeChild(trainModel, {
    workflowId,
    args: [request],
    // Cancelling the nightly run cancels its training, whose cleanup then stops the machine.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    staticSummary: `train ${input.project} ${releaseTag} on ${request.location}`,
    staticDetails: `requested by the nightly schedule: new data in ${paths}`,
  });
  return { ...base, summary, training: { workflowId, releaseTag, result } };
}
