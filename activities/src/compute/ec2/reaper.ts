import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { durationMs } from '@cd4ml/contracts';
import { ec2Client } from './client.ts';
import { describeAll, shutDown } from './instances.ts';
import { TAG_LIFECYCLE, TAG_LOCATION, TAG_MANAGED, TAG_STARTED_AT, TAG_WORKFLOW, handBack, tagValue } from './tags.ts';

/** cd4ml tags a person's instance, may wait for it to finish stopping, then starts it: a start later than this was someone else's. */
const START_SLACK_MS = 15 * 60_000;

export interface ReapInput {
  location: string;
  region: string;
  endpoint?: string;
  /** e.g. "5m": how long after its training ended an instance is left to the training's own cleanup. */
  grace: string;
}

export interface ReapedInstance {
  instanceId: string;
  workflowId: string | null;
  action: 'stopped' | 'terminated';
  reason: string;
}

export interface ReapReport {
  location: string;
  region: string;
  checked: number;
  reaped: ReapedInstance[];
  /** Running instances left alone, and why. */
  kept: { instanceId: string; workflowId: string | null; reason: string }[];
}

/** When the training that owns an instance ended; 'running' while it runs; null when Temporal has no such run. */
async function trainingEnded(client: Client, workflowId: string): Promise<number | 'running' | null> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    if (d.status.name === 'RUNNING') return 'running';
    return d.closeTime?.getTime() ?? Date.now();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/**
 * Finds running instances that cd4ml switched on for a location and whose
 * training is no longer running (terminated, crashed past its cleanup, or
 * forgotten), and switches them off: a person's instance is stopped, a
 * launched one terminated. The grace period keeps it out of the way of a
 * training's own cleanup that is still under way. It acts only on instances
 * whose `cd4ml:workflow-id` tag names a training that ended more than the grace
 * ago and that cd4ml itself started (by the start time AWS records): a person's
 * instance, handed back at the end of its training, is never touched.
 */
export async function reapMachines(client: Client, input: ReapInput): Promise<ReapReport> {
  const ec2 = ec2Client(input);
  const graceMs = durationMs(input.grace);
  const report: ReapReport = { location: input.location, region: input.region, checked: 0, reaped: [], kept: [] };
  try {
    // Every page: a busy account has more instances than one answer holds.
    const instances = await describeAll(ec2, [
      { Name: `tag:${TAG_MANAGED}`, Values: ['true'] },
      { Name: `tag:${TAG_LOCATION}`, Values: [input.location] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
    for (const inst of instances) {
      report.checked++;
      const instanceId = inst.InstanceId!;
      const workflowId = tagValue(inst.Tags, TAG_WORKFLOW) ?? null;
      if (!workflowId) {
        // Its training handed it back (the tag goes at the end of every training): its owner's now.
        report.kept.push({ instanceId, workflowId, reason: 'names no training (handed back to its owner)' });
        continue;
      }
      const ended = await trainingEnded(client, workflowId);
      if (ended === 'running') {
        report.kept.push({ instanceId, workflowId, reason: 'its training is running' });
        continue;
      }
      // AWS sets LaunchTime on every start: one after the training ended, or well after cd4ml
      // started it, was not cd4ml's (its owner started it by hand; the training's cleanup never ran).
      const launched = inst.LaunchTime?.getTime();
      const startedAt = Date.parse(tagValue(inst.Tags, TAG_STARTED_AT) ?? '');
      if (launched !== undefined && ((typeof ended === 'number' && launched > ended)
        || (Number.isFinite(startedAt) && launched > startedAt + START_SLACK_MS))) {
        report.kept.push({ instanceId, workflowId, reason: `started ${inst.LaunchTime!.toISOString()}, after cd4ml's start for ${workflowId}: not cd4ml's` });
        continue;
      }
      // Unknown to Temporal: measure the grace from cd4ml's start instead.
      const since = ended ?? (Number.isFinite(startedAt) ? startedAt : launched ?? 0);
      if (Date.now() - since < graceMs) {
        report.kept.push({ instanceId, workflowId, reason: `within the ${input.grace} grace period` });
        continue;
      }
      const how = tagValue(inst.Tags, TAG_LIFECYCLE) === 'start-stop' ? 'stop' : 'terminate';
      const done = await shutDown(ec2, instanceId, how);
      // A person's instance, switched off: handed back, so starting it by hand later is left alone.
      if (how === 'stop') await handBack(ec2, instanceId, workflowId);
      if (done === 'none') continue;
      report.reaped.push({
        instanceId, workflowId, action: done,
        reason: ended === null ? `training ${workflowId} is unknown to Temporal` : `training ${workflowId} ended ${new Date(ended).toISOString()}`,
      });
    }
    return report;
  } finally {
    ec2.destroy();
  }
}
