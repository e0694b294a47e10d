import { Context } from '@temporalio/activity';
import {
  DescribeInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, paginateDescribeInstances,
  type EC2Client, type Filter, type Instance,
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

/** Every instance matching the filters, following NextToken through all pages. */
export async function describeAll(ec2: EC2Client, filters: Filter[]): Promise<Instance[]> {
  const found: Instance[] = [];
  for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 100 }, { Filters: filters })) {
    found.push(...(page.Reservations?.flatMap((r) => r.Instances ?? []) ?? []));
  }
  return found;
}

/**
 * Instances of this training that are not terminated: how a retried launch finds its own instance.
 * Tag filters lag behind a launch on AWS by seconds: an instance launched moments ago may be missing.
 */
export function instancesOfTraining(ec2: EC2Client, location: string, workflowId: string): Promise<Instance[]> {
  return describeAll(ec2, [
    { Name: `tag:${TAG_LOCATION}`, Values: [location] },
    { Name: `tag:${TAG_WORKFLOW}`, Values: [workflowId] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
  ]);
}

/** An instance that went away (terminated, shutting down, or never seen) while it was waited for. */
export class InstanceGone extends Error {
  constructor(
    readonly instanceId: string,
    readonly state: InstanceState | 'missing',
    /** AWS's StateReason (`Server.InsufficientInstanceCapacity`, ...), when it gave one. */
    readonly reasonCode?: string,
    readonly reasonMessage?: string,
  ) {
    super(`instance ${instanceId} is ${state === 'missing' ? 'not found' : state}${reasonCode ? ` (${reasonCode}: ${reasonMessage ?? ''})` : ''}`);
    this.name = 'InstanceGone';
  }
}

/** Polls until the instance reaches one of `states`; throws with the last state seen on timeout. Activity context only: a cancel ends the wait. */
export async function waitForState(
  ec2: EC2Client, instanceId: string, states: InstanceState[],
  opts: {
    timeoutMs: number; onPoll?: (state: string) => void; everyMs?: number;
    /** A just-launched id: DescribeInstances may not know it for a while (eventual consistency). "Not found" means gone only after this long. */
    appearWithinMs?: number;
    /**
     * StartInstances of this (stopped) instance was just accepted: a return to `stopped` with a
     * capacity state reason means EC2 could not place it, and waiting longer cannot help.
     */
    afterStart?: boolean;
  },
): Promise<Instance> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let leftStopped = false;
  for (;;) {
    const inst = await describeInstance(ec2, instanceId);
    const state = stateOf(inst);
    opts.onPoll?.(state);
    if (inst && states.includes(state as InstanceState)) return inst;
    if (state !== 'stopped') leftStopped = true;
    // Right after the start a description may still be the old one (an old capacity reason too):
    // trust it once the instance was seen to leave `stopped`, or after a while.
    if (opts.afterStart && state === 'stopped' && isCapacityReason(inst?.StateReason?.Code, inst?.StateReason?.Message)
      && (leftStopped || Date.now() - started > STALE_DESCRIPTION_MS)) {
      throw new StartFailedForCapacity(instanceId, inst?.StateReason?.Code ?? '', inst?.StateReason?.Message);
    }
    const notYetVisible = state === 'missing' && Date.now() - started < (opts.appearWithinMs ?? 0);
    if (!notYetVisible && (state === 'missing' || state === 'terminated' || state === 'shutting-down')) {
      if (!states.includes(state as InstanceState)) throw new InstanceGone(instanceId, state, inst?.StateReason?.Code, inst?.StateReason?.Message);
    }
    if (Date.now() > deadline) {
      throw new Error(`instance ${instanceId} did not reach ${states.join('/')} within ${Math.round(opts.timeoutMs / 1000)} s (last state: ${state})`);
    }
    await Context.current().sleep(opts.everyMs ?? 2000);
  }
}

/** Starts a stopped instance; one that is stopping is waited for first. Running or pending: nothing to do. Returns whether it sent StartInstances. */
export async function startInstance(ec2: EC2Client, instanceId: string): Promise<boolean> {
  let state = stateOf(await describeInstance(ec2, instanceId));
  if (state === 'stopping') {
    state = stateOf(await waitForState(ec2, instanceId, ['stopped'], { timeoutMs: 10 * 60_000 }));
  }
  if (state !== 'stopped') return false;
  await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
  return true;
}

/** How long a `stopped` description right after StartInstances may be a stale one. */
const STALE_DESCRIPTION_MS = 30_000;

/** StartInstances was accepted, then the instance went back to stopped for want of capacity (pending -> stopped). */
export class StartFailedForCapacity extends Error {
  constructor(readonly instanceId: string, readonly reasonCode: string, readonly reasonMessage?: string) {
    super(`instance ${instanceId} went back to stopped after its start (${reasonCode}: ${reasonMessage ?? ''})`);
    this.name = 'StartFailedForCapacity';
  }
}

/** AWS's ways of saying "no capacity for this type (market, zone) right now", as error codes and as state reasons. */
export const CAPACITY_CODES = new Set([
  'InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientCapacity', 'Unsupported',
  'SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded', 'VcpuLimitExceeded', 'InstanceLimitExceeded',
]);

/**
 * An instance that ended before it ever ran, for want of capacity: `Server.InsufficientInstanceCapacity`,
 * or a spot request answered `capacity-not-available` (or reclaimed while still pending).
 */
export function endedForCapacity(gone: InstanceGone): boolean {
  if (gone.state !== 'terminated' && gone.state !== 'shutting-down') return false;
  return isCapacityReason(gone.reasonCode, gone.reasonMessage);
}

/** Whether an instance's StateReason says EC2 had no capacity for it. */
export function isCapacityReason(reasonCode: string | undefined, reasonMessage: string | undefined): boolean {
  const code = reasonCode ?? '';
  const bare = code.replace(/^(Server|Client)\./, '');
  return CAPACITY_CODES.has(bare) || code === 'Server.SpotInstanceTermination' ||
    /capacity-not-available|InsufficientInstanceCapacity/i.test(`${code} ${reasonMessage ?? ''}`);
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
