import { CreateTagsCommand, DeleteTagsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { awsErrorCode } from './client.ts';

// Tags on every instance cd4ml starts or launches: the reaper finds its own
// instances by them, and a person reading the EC2 console sees whose run it is.
export const TAG_MANAGED = 'cd4ml:managed';
export const TAG_LOCATION = 'cd4ml:location';
/** The training the instance is switched on for; removed when that training hands a person's instance back. */
export const TAG_WORKFLOW = 'cd4ml:workflow-id';
/** 'start-stop' (a person's instance) or 'launch-terminate' (launched from a template or AMI). */
export const TAG_LIFECYCLE = 'cd4ml:lifecycle';
/** When cd4ml started (or launched) the instance for the training, ISO 8601. */
export const TAG_STARTED_AT = 'cd4ml:started-at';
/** The training that last had a person's instance, once it handed the instance back. */
export const TAG_LAST_WORKFLOW = 'cd4ml:last-workflow-id';

export const cd4mlTags = (location: string, workflowId: string, lifecycle: 'start-stop' | 'launch-terminate', now = new Date()) => [
  { Key: TAG_MANAGED, Value: 'true' },
  { Key: TAG_LOCATION, Value: location },
  { Key: TAG_WORKFLOW, Value: workflowId },
  { Key: TAG_LIFECYCLE, Value: lifecycle },
  { Key: TAG_STARTED_AT, Value: now.toISOString() },
  { Key: 'Name', Value: `cd4ml ${location}` },
];

export const tagValue = (tags: { Key?: string; Value?: string }[] | undefined, key: string): string | undefined =>
  tags?.find((t) => t.Key === key)?.Value;

/**
 * A person's instance after its training: the training's tag goes (only if it
 * still names that training), so the reaper leaves the instance alone when its
 * owner starts it by hand later. `cd4ml:last-workflow-id` says who had it last.
 */
export async function handBack(ec2: EC2Client, instanceId: string, workflowId: string | undefined): Promise<void> {
  try {
    await untag(ec2, instanceId, workflowId);
  } catch (err) {
    // Gone (deleted, or terminated past tagging): nobody will start it again.
    if (!/^InvalidInstanceID\./.test(awsErrorCode(err) ?? '')) throw err;
  }
}

async function untag(ec2: EC2Client, instanceId: string, workflowId: string | undefined): Promise<void> {
  if (workflowId) {
    await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: TAG_LAST_WORKFLOW, Value: workflowId }] }));
    // With a value, EC2 deletes the tag only while it still has that value.
    await ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: [{ Key: TAG_WORKFLOW, Value: workflowId }] }));
  } else {
    await ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: [{ Key: TAG_WORKFLOW }] }));
  }
}
