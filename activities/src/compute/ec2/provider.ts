import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { ApplicationFailure, CancelledFailure, log } from '@temporalio/activity';
import { FailureType, durationMs, estimatedCost, locationTaskQueue, type Ec2LocationConfig } from '@cd4ml/contracts';
import { startHeartbeats } from '../../heartbeat.ts';
import type { Machine, MachineProvider, StartInput, StopResult } from '../machine.ts';
import type { ComputeContext } from '../context.ts';
import { waitForWorker } from '../worker-polling.ts';
import { ec2Client } from './client.ts';
import { describeInstance, instancesOfTraining, shutDown, startInstance, stateOf, waitForState } from './instances.ts';
import { launchInstance } from './launch.ts';
import { cd4mlTags, handBack } from './tags.ts';
import { renderUserData, sendsCd4mlUserData } from './user-data.ts';
import { ensureReaperSchedule } from '../reaper-schedule.ts';

const RUNNING_TIMEOUT_MS = 10 * 60_000;

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
      const hb = startHeartbeats({ stage: 'start-machine', detail: `location ${location}` });
      let instanceId: string | undefined;
      const lifecycle = cfg.instanceId ? 'start-stop' : 'launch-terminate';
      try {
        // Before anything costs money: whatever this start leaves behind, the reaper will find.
        await ensureReaperSchedule(ctx.client, { location, region: cfg.region, endpoint: cfg.endpoint, grace: cfg.reaperGrace });
        let startedAt = Date.now();
        let instanceType: string | null = null;
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
          await startInstance(ec2, instanceId);
        } else {
          // A retried start finds the instance an earlier attempt launched, by its tags.
          const [existing] = await instancesOfTraining(ec2, location, workflowId);
          const inst = existing ?? await launchInstance(launcher, {
            location, workflowId, config: cfg,
            userData: sendsCd4mlUserData(cfg) ? await renderUserData({ location, perInstanceQueue: 'true', ...ctx.userData }) : undefined,
            onAttempt: (c) => hb.update({ detail: `launching ${c.instanceType ?? 'template type'} (${c.market})` }),
          });
          instanceId = inst.InstanceId!;
          if (existing?.LaunchTime) startedAt = existing.LaunchTime.getTime();
          if (stateOf(existing ?? null) === 'stopped' || stateOf(existing ?? null) === 'stopping') await startInstance(ec2, instanceId);
        }
        const running = await waitForState(ec2, instanceId, ['running'], {
          timeoutMs: RUNNING_TIMEOUT_MS,
          onPoll: (state) => hb.update({ detail: `instance ${instanceId} ${state}` }),
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
        return { ...provider.recordFor(input), instanceId, instanceType, startedAt, taskQueue };
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
