import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateKeyPairCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateTagsCommand, CreateVpcCommand,
  DescribeInstancesCommand, DescribeVolumesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '@cd4ml/contracts';
import { ec2Client } from '@cd4ml/activities/compute/ec2/client';
import { instancesOfTraining } from '@cd4ml/activities/compute/ec2/instances';
import { cd4mlTags } from '@cd4ml/activities/compute/ec2/tags';
import { Stack } from '../harness/stack.ts';
import { Moto } from '../harness/moto.ts';
import { Ec2Faults } from '../harness/ec2-faults.ts';
import { SimulatedFleet } from '../harness/ec2-fleet.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { activityRuns, runsOf } from '../harness/training-probes.ts';
import { REPO_ROOT } from '../harness/paths.ts';

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

/**
 * The launch path as AWS behaves and moto does not: client tokens that outlive
 * their instance, instances invisible for a while after launch, capacity that
 * vanishes after RunInstances accepted, paginated answers. The fault proxy in
 * front of moto plays AWS's part; the control worker runs as its own process so
 * it can be killed.
 */
describe('EC2 launches as AWS behaves (moto behind a fault proxy, real Temporal, dvc, git)', () => {
  let stack: Stack;
  let moto: Moto;
  let faults: Ec2Faults;
  let fleet: SimulatedFleet;
  let ec2: EC2Client;
  let control: WorkerProcess;
  let deskInstance: string;
  const net = { subnets: [] as string[], sg: '', profileArn: '' };

  beforeAll(async () => {
    moto = await Moto.start();
    Object.assign(process.env, moto.env());
    faults = await Ec2Faults.start(moto.endpoint);
    ec2 = new EC2Client(moto.clientConfig());
    await moto.createLaunchTemplate();
    deskInstance = await moto.stoppedInstance();

    // A network of the location's own, and an instance profile (IAM through boto3: the SDK here has no IAM client).
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.7.0.0/16' }))).Vpc!.VpcId!;
    for (const [i, zone] of ['us-east-1a', 'us-east-1b'].entries()) {
      net.subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.7.${i}.0/24`, AvailabilityZone: zone }))).Subnet!.SubnetId!);
    }
    net.sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'cd4ml-worker', Description: 'cd4ml', VpcId: vpc }))).GroupId!;
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'cd4ml-test' }));
    const py = path.join(REPO_ROOT, '.cd4ml/tools-venv/bin/python');
    net.profileArn = (await execa(py, ['-c', [
      'import boto3, sys',
      `iam = boto3.client("iam", endpoint_url="${moto.endpoint}", region_name="us-east-1")`,
      'print(iam.create_instance_profile(InstanceProfileName="cd4ml-worker")["InstanceProfile"]["Arn"])',
    ].join('\n')], { env: moto.env() })).stdout.trim();

    stack = await Stack.start();
    await stack.example.create();
    const common = `provider: ec2, region: us-east-1, endpoint: "${faults.endpoint}"`;
    const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/, [
      'locations:',
      `  gpu: {${common}, launchTemplate: cd4ml-gpu, instanceTypes: [g5.xlarge, g4dn.xlarge], workerStartTimeout: 60s,`,
      `        iamInstanceProfile: cd4ml-worker, subnetIds: [${net.subnets.join(', ')}], securityGroupIds: [${net.sg}], keyName: cd4ml-test, rootVolumeGiB: 150}`,
      `  flaky: {${common}, launchTemplate: cd4ml-gpu, instanceTypes: [g4dn.xlarge], workerStartTimeout: 5s}`,
      `  desk: {${common}, instanceId: ${deskInstance}}`,
      '',
    ].join('\n'));
    await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: ec2 locations');
    fleet = new SimulatedFleet(stack, moto.endpoint).start();
    control = await stack.spawnWorker('control', 'local', moto.env());
  }, 240_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
    await faults?.stop();
    ec2?.destroy();
    await moto?.stop();
  });

  const launchedFor = async (tag: string) => {
    const mine = new Set((await fleet.instances()).filter((i) => i.workflowId === `train/penguins/${tag}`).map((i) => i.instanceId));
    return faults.launched.filter((l) => mine.has(l.instanceId));
  };

  it('a failed training retried under the same tag within the token\'s lifetime launches a new instance and trains', async () => {
    faults.clear();
    faults.rememberClientTokens();
    fleet.broken.add('flaky');
    const first = await stack.startTraining({ releaseTag: 't1', location: 'flaky' });
    expect((await failureOf(first)).type).toBe(FailureType.WorkerDidNotStart);
    const [old] = await launchedFor('t1');
    expect((await fleet.instances()).find((i) => i.instanceId === old!.instanceId)?.state).toBe('terminated');

    fleet.broken.delete('flaky');
    const result = await stack.train({ releaseTag: 't1', location: 'flaky' });
    expect(result.decision).toBe('accepted');
    const launched = await launchedFor('t1');
    expect(launched).toHaveLength(2);
    expect(launched[1]!.clientToken).not.toBe(launched[0]!.clientToken);
    expect((await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/t1').map((i) => i.state)).toEqual(['terminated', 'terminated']);
    expect(await fleet.running()).toEqual([]);
  }, 300_000);

  it('pending -> terminated for capacity falls through to the next zone and type; the launch carries the location\'s role, subnet, groups, key and disk', async () => {
    faults.clear();
    faults.rememberClientTokens();
    faults.capacityEndsAfterLaunch(['g5.xlarge']);
    // moto drops an instance's profile when it terminates: read each one as it is launched.
    // Its root volume goes with it too: read its size then as well.
    const profiles = new Map<string, string | undefined>();
    const rootSizes = new Map<string, (number | undefined)[]>();
    faults.onLaunched = async (id) => {
      const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0];
      profiles.set(id, inst?.IamInstanceProfile?.Arn);
      const volumeIds = (inst?.BlockDeviceMappings ?? []).filter((b) => b.DeviceName === inst?.RootDeviceName).map((b) => b.Ebs!.VolumeId!);
      rootSizes.set(id, volumeIds.length ? (await ec2.send(new DescribeVolumesCommand({ VolumeIds: volumeIds }))).Volumes!.map((v) => v.Size) : []);
    };
    const handle = await stack.startTraining({ releaseTag: 'p1', location: 'gpu' });
    const result = await handle.result();
    expect(result.decision).toBe('accepted');
    // g5 accepted in both zones and ended for capacity each time; then g4dn in the first subnet.
    expect(faults.launched.map((l) => l.type)).toEqual(['g5.xlarge', 'g5.xlarge', 'g4dn.xlarge']);
    expect(runsOf(await activityRuns(handle), 'startMachine')).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed' })]);

    const ids = faults.launched.map((l) => l.instanceId);
    const described = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!);
    const byId = new Map(described.map((i) => [i.InstanceId!, i]));
    expect(ids.map((id) => byId.get(id)!.SubnetId)).toEqual([net.subnets[0], net.subnets[1], net.subnets[0]]);
    const used = byId.get(ids[2]!)!;
    expect(used).toMatchObject({ InstanceType: 'g4dn.xlarge', KeyName: 'cd4ml-test' });
    expect(profiles.get(ids[2]!)).toBe(net.profileArn);
    expect(used.SecurityGroups?.map((g) => g.GroupId)).toEqual([net.sg]);
    expect(used.State?.Name).toBe('terminated');
    expect(rootSizes.get(ids[2]!)).toEqual([150]);
    expect(await fleet.running()).toEqual([]);
  }, 300_000);

  it('a person\'s instance that EC2 cannot start for capacity fails the training as CapacityUnavailable, once, saying what to do', async () => {
    faults.clear();
    faults.noCapacityToStart(deskInstance);
    const handle = await stack.startTraining({ releaseTag: 's1', location: 'desk' });
    const failure = await failureOf(handle);
    expect(failure.type).toBe(FailureType.CapacityUnavailable);
    expect(failure.message).toMatch(new RegExp(`no capacity to start instance ${deskInstance} \\(g4dn\\.2xlarge in us-east-1a\\)`));
    expect(failure.message).toMatch(/modify-instance-attribute/);
    expect(runsOf(await activityRuns(handle), 'startMachine')).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed' })]);
    expect((await fleet.instances()).find((i) => i.instanceId === deskInstance)?.state).toBe('stopped');
  }, 120_000);

  it('a person\'s instance that StartInstances accepts and EC2 then puts back to stopped for capacity fails at once as CapacityUnavailable', async () => {
    faults.clear();
    faults.capacityStopsAfterStart(deskInstance);
    const handle = await stack.startTraining({ releaseTag: 's2', location: 'desk' });
    const failure = await failureOf(handle);
    expect(failure.type).toBe(FailureType.CapacityUnavailable);
    expect(failure.message).toMatch(new RegExp(`no capacity to start instance ${deskInstance} \\(g4dn\\.2xlarge in us-east-1a\\) right now \\(Server\\.InsufficientInstanceCapacity\\)`));
    expect(failure.message).toMatch(/Try again later, change the instance's type .*modify-instance-attribute/);
    // Once, not retried, and not after the 10-minute wait for running (this test's timeout is 2 minutes).
    const starts = runsOf(await activityRuns(handle), 'startMachine');
    expect(starts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'failed' })]);
    // At moto: one start asked for, and the instance is stopped again.
    expect(faults.calls.filter((c) => c.params.get('Action') === 'StartInstances')).toHaveLength(1);
    expect((await fleet.instances()).find((i) => i.instanceId === deskInstance)?.state).toBe('stopped');
  }, 120_000);

  it('an instance DescribeInstances does not know for a while after launch is waited for, not launched again', async () => {
    faults.clear();
    faults.rememberClientTokens();
    faults.hideNewInstances(12_000);
    const handle = await stack.startTraining({ releaseTag: 'v1', location: 'flaky' });
    expect((await handle.result()).decision).toBe('accepted');
    expect(await launchedFor('v1')).toHaveLength(1);
    expect(faults.runInstancesCalls()).toHaveLength(1);
    expect(runsOf(await activityRuns(handle), 'startMachine')).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed' })]);
    expect(await fleet.running()).toEqual([]);
  }, 300_000);

  it('with visibility delayed, a SIGKILL of the control worker during startMachine still launches exactly one instance, and it is terminated', async () => {
    faults.clear();
    faults.rememberClientTokens();
    // Longer than the heartbeat timeout: the retry's tag lookup cannot see what the killed attempt launched.
    faults.hideNewInstances(50_000);
    let killed = false;
    faults.onLaunched = async () => {
      if (killed) return;
      killed = true;
      // Moto launched it; the worker dies before it hears back.
      await control.kill();
    };
    const handle = await stack.startTraining({ releaseTag: 'x1', location: 'flaky' });
    await expect.poll(() => killed, { timeout: 120_000, interval: 200 }).toBe(true);
    control = await stack.spawnWorker('control', 'local', moto.env());
    expect((await handle.result()).decision).toBe('accepted');

    const launched = await launchedFor('x1');
    expect(launched, 'instances moto launched for x1').toHaveLength(1);
    // The retry asked again with the same token and got the same instance back.
    const calls = faults.runInstancesCalls();
    console.log(`x1: ${calls.length} RunInstances call(s) reached the proxy, ${launched.length} reached moto`);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    expect(new Set(faults.calls.filter((c) => c.params.get('Action') === 'RunInstances').map((c) => c.params.get('ClientToken'))).size).toBe(1);
    const starts = runsOf(await activityRuns(handle), 'startMachine');
    expect(starts.at(-1)).toMatchObject({ outcome: 'completed' });
    expect(starts.at(-1)!.attempt).toBeGreaterThanOrEqual(2);
    expect((await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/x1').map((i) => i.state)).toEqual(['terminated']);
    expect(await fleet.running()).toEqual([]);
  }, 400_000);

  it('tag-filtered DescribeInstances follows NextToken through small pages', async () => {
    faults.clear();
    faults.paginate(1);
    const ami = await moto.amiId();
    for (let i = 0; i < 3; i++) {
      const id = (await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
      await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: cd4mlTags('gpu', 'train/penguins/pages', 'launch-terminate') }));
    }
    const client = ec2Client({ region: 'us-east-1', endpoint: faults.endpoint });
    try {
      expect(await instancesOfTraining(client, 'gpu', 'train/penguins/pages')).toHaveLength(3);
    } finally {
      client.destroy();
    }
    expect(faults.pagedCalls()).toBeGreaterThanOrEqual(2);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: (await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/pages').map((i) => i.instanceId) }));
  }, 120_000);
});
