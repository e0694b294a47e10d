import { Context } from '@temporalio/activity';
import {
  DescribeInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
  type EC2Client, type Instance,
} from '@aws-sdk/client-ec2';
import { awsErrorCode } from './client.ts';
import { TAG_LOCATION, TAG_WORKFLOW } from './tags.ts';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const stateOf = (i: Instance | null): InstanceState | 'missing' => (i?.State?.Name as InstanceState | undefined) ?? 'missing';

export async function describeInstance(ec2: EC2Client, instanceId: string): Promise<Instance | null> {
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return out.Reservations?.flatMap((r) => r.Instances ?? [])[0] ?? null;
  } catch (err) {
    if (awsErrorCode(err) === 'InvalidInstanceID.NotFound') return null;
    throw err;
  }
}

/** Instances of this training that are not terminated: how a retried launch finds its own instance. */
export async function instancesOfTraining(ec2: EC2Client, location: string, workflowId: string): Promise<Instance[]> {
  const out = await ec2.send(new DescribeInstancesCommand({
    Filters: [
      { Name: `tag:${TAG_LOCATION}`, Values: [location] },
      { Name: `tag:${TAG_WORKFLOW}`, Values: [workflowId] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ],
  }));
  return out.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
}

/** Polls until the instance reaches one of `states`; throws with the last state seen on timeout. Activity context only: a cancel ends the wait. */
export async function waitForState(
  ec2: EC2Client, instanceId: string, states: InstanceState[],
  opts: { timeoutMs: number; onPoll?: (state: string) => void; everyMs?: number },
): Promise<Instance> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const inst = await describeInstance(ec2, instanceId);
    const state = stateOf(inst);
    opts.onPoll?.(state);
    if (inst && states.includes(state as InstanceState)) return inst;
    if (state === 'missing' || state === 'terminated' || state === 'shutting-down') {
      if (!states.includes(state as InstanceState)) throw new Error(`instance ${instanceId} is ${state}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`instance ${instanceId} did not reach ${states.join('/')} within ${Math.round(opts.timeoutMs / 1000)} s (last state: ${state})`);
    }
    await Context.current().sleep(opts.everyMs ?? 2000);
  }
}

/** Starts a stopped instance; one that is stopping is waited for first. Running or pending: nothing to do. */
export async function startInstance(ec2: EC2Client, instanceId: string): Promise<void> {
  let state = stateOf(await describeInstance(ec2, instanceId));
  if (state === 'stopping') {
    state = stateOf(await waitForState(ec2, instanceId, ['stopped'], { timeoutMs: 10 * 60_000 }));
  }
  if (state === 'stopped') await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
}

/** Stops or terminates; an instance already on its way down (or gone) is a success. */
export async function shutDown(ec2: EC2Client, instanceId: string, action: 'stop' | 'terminate'): Promise<'stopped' | 'terminated' | 'none'> {
  const state = stateOf(await describeInstance(ec2, instanceId));
  if (state === 'missing' || state === 'terminated' || state === 'shutting-down') return 'none';
  if (action === 'stop' && (state === 'stopped' || state === 'stopping')) return 'none';
  try {
    if (action === 'stop') await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
    else await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (err) {
    if (awsErrorCode(err) === 'InvalidInstanceID.NotFound') return 'none';
    throw err;
  }
  return action === 'stop' ? 'stopped' : 'terminated';
}
