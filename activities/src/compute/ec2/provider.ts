import { CreateTagsCommand, type Instance } from '@aws-sdk/client-ec2';
import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { FailureType, durationMs, estimatedCost, locationTaskQueue, type Ec2LocationConfig } from '@cd4ml/contracts';
import { startHeartbeats } from '../../heartbeat.ts';
import type { Machine, MachineProvider, StartInput, StopResult } from '../machine.ts';
import type { ComputeContext } from '../context.ts';
import { waitForWorker } from '../worker-polling.ts';
import { awsErrorCode, ec2Client } from './client.ts';
import {
  InstanceGone, StartFailedForCapacity, describeInstance, instancesOfTraining, shutDown, startInstance, stateOf, waitForState,
  type InstanceState,
} from './instances.ts';
import { launchInstance } from './launch.ts';
import { cd4mlTags, handBack } from './tags.ts';
import { renderUserData, sendsCd4mlUserData } from './user-data.ts';
import { ensureReaperSchedule } from '../reaper-schedule.ts';

const RUNNING_TIMEOUT_MS = 10 * 60_000;
/** How long a launched id may stay unknown to DescribeInstances before it counts as gone (AWS: eventually consistent). */
const APPEAR_WITHIN_MS = 2 * 60_000;

/** What startMachine's heartbeat carries: a retry learns from it what earlier attempts launched, even while tag filters lag. */
export interface StartHeartbeat {
  stage: string;
  detail: string;
  /** Every instance id this training run's start attempts launched, oldest first. */
  launched?: string[];
}

/** Where a running instance is, and whether it is spot (for the training's attempts). */
const placement = (i: { Placement?: { AvailabilityZone?: string }; SubnetId?: string; InstanceLifecycle?: string }): Pick<Machine, 'zone' | 'subnetId' | 'market'> => ({
  ...(i.Placement?.AvailabilityZone ? { zone: i.Placement.AvailabilityZone } : {}),
  ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
  market: i.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
});

/** Launched ids recorded by the previous attempt of this activity (none on the first). */
export function launchedBefore(details: unknown): string[] {
  const launched = (details as { launched?: unknown } | undefined)?.launched;
  return Array.isArray(launched) ? launched.filter((x): x is string => typeof x === 'string' && x.startsWith('i-')) : [];
}

/** A person's stopped instance EC2 cannot start (refused, or pending -> stopped) for capacity: final, with what to do. */
function noCapacityToStart(location: string, instanceId: string, inst: Instance | null, code: string): ApplicationFailure {
  // A stopped instance starts only where it lives: its type, in its zone. That shortage can last hours.
  return ApplicationFailure.nonRetryable(
    `location "${location}": EC2 has no capacity to start instance ${instanceId} (${inst?.InstanceType ?? 'its type'} in ${inst?.Placement?.AvailabilityZone ?? 'its zone'}) right now (${code}). ` +
    `Try again later, change the instance's type (aws ec2 modify-instance-attribute --instance-id ${instanceId} --instance-type ...), or train on a launched location (launchTemplate or imageId with instanceTypes)`,
    FailureType.CapacityUnavailable,
    { tried: [`${inst?.InstanceType ?? instanceId} start: ${code}`] },
  );
}

/**
 * EC2 training machines. A location names either a person's own instance
 * (started, then stopped: its disk keeps the persistent checkout) or a launch
 * template / AMI (launched per training, then terminated). start() returns
 * only once the location worker on the instance polls its task queue.
 */
export function ec2Provider(ctx: ComputeContext): MachineProvider {
  const provider: MachineProvider = {
    async start(input: StartInput): Promise<Machine> {
      const { location, config, workflowId } = input;
      const cfg = config as Ec2LocationConfig;
      const ec2 = ec2Client(cfg);
      const launcher = ec2Client(cfg, { retry: false });
      const hb = startHeartbeats<StartHeartbeat>({ stage: 'start-machine', detail: `location ${location}` });
      let instanceId: string | undefined;
      const lifecycle = cfg.instanceId ? 'start-stop' : 'launch-terminate';
      try {
        // Before anything costs money: whatever this start leaves behind, the reaper will find.
        await ensureReaperSchedule(ctx.client, { location, region: cfg.region, endpoint: cfg.endpoint, grace: cfg.reaperGrace });
        let startedAt = Date.now();
        let instanceType: string | null = null;
        let startRequested = false;
        if (cfg.instanceId) {
          instanceId = cfg.instanceId;
          const inst = await describeInstance(ec2, instanceId);
          const state = stateOf(inst);
          if (state === 'missing' || state === 'terminated' || state === 'shutting-down') {
            throw ApplicationFailure.nonRetryable(
              `location "${location}": instance ${instanceId} is ${state === 'missing' ? 'not found' : state} in ${cfg.region}; fix locations.${location}.instanceId in cd4ml.yaml`,
              FailureType.ConfigInvalid,
            );
          }
          // Tagged before starting, so the reaper knows whose run it is from the first second.
          await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: cd4mlTags(location, workflowId, lifecycle) }));
          hb.update({ detail: `starting instance ${instanceId}` });
          startRequested = await startInstance(ec2, instanceId).catch((err: unknown) => {
            const code = awsErrorCode(err) ?? '';
            if (!code.startsWith('Insufficient')) throw err;
            throw noCapacityToStart(location, instanceId!, inst, code);
          });
        } else {
          const info = Context.current().info;
          const launched = launchedBefore(info.heartbeatDetails);
          hb.update({ launched });
          // A retried start finds the instance an earlier attempt launched: by its tags, or (tags lag) by the ids its heartbeat recorded.
          const [tagged] = await instancesOfTraining(ec2, location, workflowId);
          let existing: { id: string; state: InstanceState | 'missing'; launchTime?: Date } | undefined =
            tagged ? { id: tagged.InstanceId!, state: stateOf(tagged), launchTime: tagged.LaunchTime } : undefined;
          for (const id of existing ? [] : [...launched].reverse()) {
            // Launched moments before the last attempt died: give it time to become visible.
            const inst = await waitForState(ec2, id, ['pending', 'running', 'stopping', 'stopped'], { timeoutMs: APPEAR_WITHIN_MS, appearWithinMs: APPEAR_WITHIN_MS })
              .catch((err: unknown) => { if (err instanceof InstanceGone) return null; throw err; });
            if (inst) {
              existing = { id, state: stateOf(inst), launchTime: inst.LaunchTime };
              break;
            }
          }
          if (existing) {
            instanceId = existing.id;
            if (existing.launchTime) startedAt = existing.launchTime.getTime();
            if (existing.state === 'stopped' || existing.state === 'stopping') await startInstance(ec2, instanceId);
          } else {
            const inst = await launchInstance(launcher, {
              location, workflowId, config: cfg, runId: info.workflowExecution?.runId ?? info.activityId, endedLaunches: launched.length + (input.launchesBefore ?? 0),
              userData: sendsCd4mlUserData(cfg) ? await renderUserData({ location, perInstanceQueue: 'true', ...ctx.userData }) : undefined,
              onAttempt: (c) => hb.update({ detail: `launching ${c.instanceType ?? 'template type'} (${c.market}${c.subnetId ? ` in ${c.subnetId}` : ''})` }),
              onLaunched: (id) => {
                instanceId = id;
                if (!launched.includes(id)) launched.push(id);
                hb.update({ launched: [...launched], detail: `launched ${id}` });
              },
              waitRunning: (id) => waitForState(ec2, id, ['running'], {
                timeoutMs: RUNNING_TIMEOUT_MS, appearWithinMs: APPEAR_WITHIN_MS,
                onPoll: (state) => hb.update({ detail: `instance ${id} ${state}` }),
              }),
            });
            instanceId = inst.InstanceId!;
            // The same token may have handed back an instance an attempt before this one launched (its worker polls since then).
            if (inst.LaunchTime) startedAt = Math.min(startedAt, inst.LaunchTime.getTime());
          }
        }
        const running = await waitForState(ec2, instanceId, ['running'], {
          timeoutMs: RUNNING_TIMEOUT_MS, appearWithinMs: APPEAR_WITHIN_MS, afterStart: startRequested,
          onPoll: (state) => hb.update({ detail: `instance ${instanceId} ${state}` }),
        }).catch(async (err: unknown) => {
          // Accepted, then back to stopped (pending -> stopped): EC2 found no room for it after all.
          if (!(err instanceof StartFailedForCapacity)) throw err;
          throw noCapacityToStart(location, err.instanceId, await describeInstance(ec2, err.instanceId), err.reasonCode);
        });
        instanceType = running.InstanceType ?? null;

        const taskQueue = lifecycle === 'launch-terminate' ? locationTaskQueue(location, instanceId) : locationTaskQueue(location);
        hb.update({ detail: `instance ${instanceId} running; waiting for its location worker on ${taskQueue}` });
        const polled = await waitForWorker(ctx.client, taskQueue, {
          sinceMs: startedAt - 1000, timeoutMs: durationMs(cfg.workerStartTimeout),
        });
        if (!polled) {
          throw ApplicationFailure.nonRetryable(
            `location "${location}": instance ${instanceId} is running but no location worker polled ${taskQueue} within ${cfg.workerStartTimeout}; ` +
            `read its boot log (aws ec2 get-console-output --instance-id ${instanceId}) and check the user data (README: EC2 locations)`,
            FailureType.WorkerDidNotStart,
          );
        }
        return { ...provider.recordFor(input), instanceId, instanceType, startedAt, taskQueue, ...placement(running) };
      } catch (err) {
        // Cancelled, or a failure no retry will fix: switch off what this attempt switched on.
        // Transient errors leave it: the retry finds the same instance.
        const final = err instanceof CancelledFailure || (err instanceof ApplicationFailure && err.nonRetryable) || hb.signal.aborted;
        if (final && instanceId) {
          await shutDown(ec2, instanceId, lifecycle === 'start-stop' ? 'stop' : 'terminate')
            .catch((e: unknown) => log.error('could not switch off the instance after a failed start; the reaper will', { instanceId, error: String(e) }));
        }
        throw err;
      } finally {
        hb.stop();
        ec2.destroy();
        launcher.destroy();
      }
    },

    recordFor({ location, config, workflowId }: StartInput): Machine {
      const cfg = config as Ec2LocationConfig;
      return {
        provider: 'ec2', location, instanceId: null, instanceType: null, startedAt: 0, workflowId,
        region: cfg.region, endpoint: cfg.endpoint, lifecycle: cfg.instanceId ? 'start-stop' : 'launch-terminate', hourlyPrice: cfg.hourlyPrice,
      };
    },

    async stop(machine: Machine): Promise<StopResult> {
      const ec2 = ec2Client({ region: machine.region, endpoint: machine.endpoint });
      const how = machine.lifecycle === 'start-stop' ? 'stop' : 'terminate';
      let action: StopResult['action'] = 'none';
      try {
        // No instance id: a start that never returned. Whatever it switched on carries the training's tags.
        const ids = machine.instanceId
          ? [machine.instanceId]
          : (await instancesOfTraining(ec2, machine.location, machine.workflowId ?? '')).map((i) => i.InstanceId!);
        for (const id of ids) {
          const done = await shutDown(ec2, id, how);
          if (done !== 'none') action = done;
          // A person's instance is theirs again: the reaper must not stop it when they start it by hand.
          if (how === 'stop') await handBack(ec2, id, machine.workflowId);
        }
      } finally {
        ec2.destroy();
      }
      const stoppedAt = Date.now();
      const seconds = machine.startedAt ? (stoppedAt - machine.startedAt) / 1000 : 0;
      return { stoppedAt, seconds, action, estimatedCost: estimatedCost(seconds, machine.hourlyPrice) };
    },
  };
  return provider;
}
