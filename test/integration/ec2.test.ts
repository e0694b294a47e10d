import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EC2Client, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { CONTROL_TASK_QUEUE, FailureType, ReleaseManifest, reaperScheduleId } from '@cd4ml/contracts';
import type { ReapInput, ReapReport } from '@cd4ml/activities';
import { Stack } from '../harness/stack.ts';
import { Moto } from '../harness/moto.ts';
import { Ec2Faults } from '../harness/ec2-faults.ts';
import { SimulatedFleet } from '../harness/ec2-fleet.ts';
import { activityRuns, runsOf, slowTrainStage, waitForDvcStage, waitUntil } from '../harness/training-probes.ts';

const WORSE = { 'train.model': 'decision_tree', 'train.max_depth': 1, 'train.features': ['body_mass_g'] };

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure | CancelledFailure> {
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure | CancelledFailure;
}

/** Trainings on EC2 locations: moto's EC2 over real HTTP, real Temporal, dvc and git. */
describe('EC2 training machines (moto, real Temporal, dvc, git)', () => {
  let stack: Stack;
  let moto: Moto;
  let faults: Ec2Faults;
  let fleet: SimulatedFleet;
  let ec2: EC2Client;
  let deskInstance: string;
  let baseConfig: string;

  beforeAll(async () => {
    moto = await Moto.start();
    Object.assign(process.env, moto.env());
    faults = await Ec2Faults.start(moto.endpoint);
    ec2 = new EC2Client(moto.clientConfig());
    await moto.createLaunchTemplate();
    const ami = await moto.amiId();
    // A person's own instance, switched off between trainings.
    const desk = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 'g4dn.2xlarge', MinCount: 1, MaxCount: 1 }));
    deskInstance = desk.Instances![0]!.InstanceId!;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [deskInstance] }));

    stack = await Stack.start();
    await stack.example.create();
    const common = `provider: ec2, region: us-east-1, endpoint: "${faults.endpoint}"`;
    baseConfig = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/, [
      'locations:',
      '  local: {provider: local}',
      `  gpu: {${common}, launchTemplate: cd4ml-gpu, instanceTypes: [g5.xlarge, g4dn.xlarge], spot: true, hourlyPrice: 0.526, workerStartTimeout: 60s}`,
      `  desk: {${common}, instanceId: ${deskInstance}, hourlyPrice: 1.2}`,
      `  nocap: {${common}, launchTemplate: cd4ml-gpu, instanceTypes: [p4d.24xlarge, p3.2xlarge]}`,
      `  dud: {${common}, launchTemplate: cd4ml-gpu, workerStartTimeout: 4s}`,
      `  short: {${common}, launchTemplate: cd4ml-gpu, maxRuntime: 12s}`,
      '',
    ].join('\n'));
    await stack.example.writeFile('cd4ml.yaml', baseConfig, 'cd4ml: ec2 locations');
    fleet = new SimulatedFleet(stack, moto.endpoint).start();
    fleet.broken.add('dud');
    await stack.startControlWorker();
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
    await faults?.stop();
    await moto?.stop();
  });

  const instancesOf = async (tag: string) => (await fleet.instances()).filter((i) => i.workflowId === `train/penguins/${tag}`);

  it('launches from a template, falls through to the next type on a capacity error, trains, releases, terminates', async () => {
    faults.clear();
    faults.noCapacityFor(['g5.xlarge']);
    const handle = await stack.startTraining({ releaseTag: 'e1', location: 'gpu' });
    const result = await handle.result();
    expect(result.decision).toBe('accepted');

    // g5 spot, g5 on-demand: no capacity; then g4dn spot.
    expect(faults.runInstancesCalls()).toEqual([
      { type: 'g5.xlarge', spot: true }, { type: 'g5.xlarge', spot: false }, { type: 'g4dn.xlarge', spot: true },
    ]);
    const [inst] = await instancesOf('e1');
    expect(inst).toMatchObject({ type: 'g4dn.xlarge', state: 'terminated' });
    expect(await fleet.running()).toEqual([]);

    const manifest = ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir('e1'), 'release.json'), 'utf8')));
    expect(manifest.machine).toMatchObject({ provider: 'ec2', instanceType: 'g4dn.xlarge' });
    expect(manifest.machine.estimatedCost).toBeCloseTo((manifest.machine.seconds / 3600) * 0.526, 6);
    expect(result.machineSeconds).toBeGreaterThanOrEqual(manifest.machine.seconds);
    expect(result.estimatedCost).toBeCloseTo((result.machineSeconds / 3600) * 0.526, 4);
    expect(runsOf(await activityRuns(handle), 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
  }, 300_000);

  it('starts and stops a person\'s own instance; a rejected model still stops it and publishes nothing', async () => {
    faults.clear();
    const accepted = await stack.train({ releaseTag: 'd1', location: 'desk' });
    expect(accepted.decision).toBe('accepted');
    expect((await fleet.instances()).find((i) => i.instanceId === deskInstance)?.state).toBe('stopped');
    const starts = fleet.events.filter((e) => e.instanceId === deskInstance).map((e) => e.state);
    expect(starts).toContain('running');

    await stack.example.setParams(WORSE, 'params: a much weaker model');
    const rejected = await stack.train({ releaseTag: 'd2', location: 'desk' });
    expect(rejected.decision).toBe('rejected');
    expect(stack.released('d2')).toBe(false);
    expect((await fleet.instances()).find((i) => i.instanceId === deskInstance)?.state).toBe('stopped');
    await stack.example.writeFile('cd4ml.yaml', baseConfig, 'cd4ml: back to the good params file');
    await stack.example.run('git', 'checkout', 'HEAD~2', '--', 'params.yaml');
    await stack.example.commitAndPush('params: back to the default model');
  }, 300_000);

  it('fails clearly when no instance type has capacity, and leaves nothing running', async () => {
    faults.clear();
    faults.noCapacityFor(['p4d.24xlarge', 'p3.2xlarge']);
    const handle = await stack.startTraining({ releaseTag: 'n1', location: 'nocap' });
    const failure = await failureOf(handle);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe(FailureType.CapacityUnavailable);
    expect(failure.message).toMatch(/p4d\.24xlarge on-demand: InsufficientInstanceCapacity; p3\.2xlarge on-demand: InsufficientInstanceCapacity/);
    expect(failure.message).toMatch(/instanceTypes/);
    expect(runsOf(await activityRuns(handle), 'startMachine')).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed' })]);
    expect(await instancesOf('n1')).toEqual([]);
    expect(await fleet.running()).toEqual([]);
  }, 120_000);

  it('terminates an instance whose worker never polls, and says where to look', async () => {
    faults.clear();
    const handle = await stack.startTraining({ releaseTag: 'w1', location: 'dud' });
    const failure = await failureOf(handle);
    expect((failure as ApplicationFailure).type).toBe(FailureType.WorkerDidNotStart);
    expect(failure.message).toMatch(/no location worker polled cd4ml-location-dud-i-[0-9a-f]+ within 4s/);
    expect(failure.message).toMatch(/get-console-output --instance-id i-/);
    await waitUntil('the instance terminated', async () => (await fleet.running()).length === 0, 30_000);
    expect((await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/w1' && i.state !== 'terminated')).toEqual([]);
  }, 120_000);

  it('cancel mid-repro: dvc stops, then the instance is terminated', async () => {
    faults.clear();
    await slowTrainStage(stack.example, 30);
    const handle = await stack.startTraining({ releaseTag: 'c1', location: 'gpu' });
    await waitForDvcStage(handle, 'train');
    const [inst] = await instancesOf('c1');
    expect(inst?.state).toBe('running');
    await handle.cancel();
    expect(await failureOf(handle)).toBeInstanceOf(CancelledFailure);
    expect(await fleet.running()).toEqual([]);
    const runs = await activityRuns(handle);
    expect(runsOf(runs, 'dvcRepro').map((r) => r.outcome)).toEqual(['canceled']);
    expect(runsOf(runs, 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
  }, 300_000);

  it('a training over its location\'s maxRuntime is stopped and its instance terminated', async () => {
    faults.clear();
    await slowTrainStage(stack.example, 60);
    const handle = await stack.startTraining({ releaseTag: 'm1', location: 'short' });
    const failure = await failureOf(handle);
    expect((failure as ApplicationFailure).type).toBe(FailureType.MaxRuntimeExceeded);
    expect(failure.message).toMatch(/maxRuntime \(12s\)/);
    expect(await fleet.running()).toEqual([]);
    expect(stack.released('m1')).toBe(false);
  }, 300_000);

  it('the reaper switches off orphans (a terminated training, an unknown one) and leaves a running training alone', async () => {
    faults.clear();
    // Every start keeps the location's reaper schedule up to date.
    const schedule = await stack.client.schedule.getHandle(reaperScheduleId('us-east-1', 'gpu')).describe();
    const input = (schedule.action.type === 'startWorkflow' ? schedule.action.args?.[0] : undefined) as ReapInput;
    expect(input).toEqual({ location: 'gpu', region: 'us-east-1', endpoint: faults.endpoint, grace: '5m' });

    const ami = await moto.amiId();
    const ghost = (await ec2.send(new RunInstancesCommand({
      ImageId: ami, InstanceType: 'g4dn.xlarge', MinCount: 1, MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [
        { Key: 'cd4ml:managed', Value: 'true' }, { Key: 'cd4ml:location', Value: 'gpu' },
        { Key: 'cd4ml:workflow-id', Value: 'train/penguins/ghost' }, { Key: 'cd4ml:lifecycle', Value: 'launch-terminate' },
      ] }],
    }))).Instances![0]!.InstanceId!;

    await slowTrainStage(stack.example, 60);
    const live = await stack.startTraining({ releaseTag: 'r1', location: 'gpu' });
    await waitForDvcStage(live, 'train');
    const liveInstance = (await instancesOf('r1'))[0]!.instanceId;

    const reap = (grace: string, id: string) => stack.client.workflow.execute('reapMachines', {
      taskQueue: CONTROL_TASK_QUEUE, workflowId: id, args: [{ ...input, grace }],
    }) as Promise<ReapReport>;

    // Within the grace period nothing is touched.
    const patient = await reap('1h', 'reap-patient');
    expect(patient.reaped).toEqual([]);

    const first = await reap('0s', 'reap-1');
    expect(first.reaped).toEqual([expect.objectContaining({ instanceId: ghost, workflowId: 'train/penguins/ghost', action: 'terminated' })]);
    expect(first.reaped[0]!.reason).toMatch(/unknown to Temporal/);
    expect(first.kept).toContainEqual({ instanceId: liveInstance, workflowId: 'train/penguins/r1', reason: 'its training is running' });
    expect((await fleet.instances()).find((i) => i.instanceId === liveInstance)?.state).toBe('running');

    // Terminate runs no cleanup: the instance stays on until the reaper comes.
    await live.terminate('test: a training killed without cleanup');
    expect(await fleet.running()).toEqual([liveInstance]);
    const second = await reap('0s', 'reap-2');
    expect(second.reaped).toEqual([expect.objectContaining({ instanceId: liveInstance, workflowId: 'train/penguins/r1', action: 'terminated' })]);
    await waitUntil('nothing running', async () => (await fleet.running()).length === 0, 10_000);

    // The schedule really runs the reaper.
    await stack.client.schedule.getHandle(reaperScheduleId('us-east-1', 'gpu')).trigger();
    const run = await waitUntil('a scheduled reaper run', async () => {
      for await (const w of stack.client.workflow.list({ query: `WorkflowType = 'reapMachines' AND ExecutionStatus = 'Completed'` })) {
        if (w.workflowId.startsWith(`${reaperScheduleId('us-east-1', 'gpu')}-`)) return w;
      }
      return undefined;
    }, 30_000);
    const report = (await stack.client.workflow.getHandle(run.workflowId).result()) as ReapReport;
    expect(report.location).toBe('gpu');
  }, 300_000);
});
