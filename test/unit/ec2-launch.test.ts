import { describe, expect, it } from 'vitest';
import { parseProjectConfig, type Ec2LocationConfig } from '@cd4ml/contracts';
import { clientToken, launchChoices, runInstancesInput } from '@cd4ml/activities/compute/ec2/launch';
import { InstanceGone, endedForCapacity } from '@cd4ml/activities/compute/ec2/instances';
import { launchedBefore } from '@cd4ml/activities/compute/ec2/provider';

const ec2Location = (yaml: string): Ec2LocationConfig =>
  parseProjectConfig(`project: p\nlocations:\n  gpu: {provider: ec2, region: eu-west-1, ${yaml}}\n`).locations.gpu as Ec2LocationConfig;

describe('RunInstances client tokens', () => {
  const choice = { instanceType: 'g5.xlarge', market: 'spot' as const };
  const base = { workflowId: 'train/penguins/v1', runId: 'run-1', launch: 0, choice };

  it('are the same for every attempt of one launch of one run (a retry gets its instance back, not a second one)', () => {
    expect(clientToken(base)).toBe(clientToken({ ...base }));
    expect(clientToken(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differ for another run of the same tag (AWS keeps a token a day and would answer with the old, terminated instance)', () => {
    expect(clientToken({ ...base, runId: 'run-2' })).not.toBe(clientToken(base));
  });

  it('differ once a launch of the run has ended, and per type, market and subnet', () => {
    const tokens = new Set([
      clientToken(base),
      clientToken({ ...base, launch: 1 }),
      clientToken({ ...base, choice: { ...choice, market: 'on-demand' } }),
      clientToken({ ...base, choice: { ...choice, instanceType: 'g4dn.xlarge' } }),
      clientToken({ ...base, choice: { ...choice, subnetId: 'subnet-0b' } }),
    ]);
    expect(tokens.size).toBe(5);
  });
});

describe('launch choices', () => {
  it('tries each type spot then on-demand, and each market in every subnet (zone) before the next', () => {
    const cfg = ec2Location('launchTemplate: t, instanceTypes: [g5.xlarge, g4dn.xlarge], spot: true, subnetIds: [subnet-0a, subnet-0b]');
    expect(launchChoices(cfg).map((c) => `${c.instanceType} ${c.market} ${c.subnetId}`)).toEqual([
      'g5.xlarge spot subnet-0a', 'g5.xlarge spot subnet-0b', 'g5.xlarge on-demand subnet-0a', 'g5.xlarge on-demand subnet-0b',
      'g4dn.xlarge spot subnet-0a', 'g4dn.xlarge spot subnet-0b', 'g4dn.xlarge on-demand subnet-0a', 'g4dn.xlarge on-demand subnet-0b',
    ]);
    expect(launchChoices(ec2Location('imageId: ami-1'))).toEqual([{ instanceType: undefined, market: 'on-demand' }]);
    expect(launchChoices(ec2Location('imageId: ami-1, subnetId: subnet-0c'))).toEqual([{ instanceType: undefined, market: 'on-demand', subnetId: 'subnet-0c' }]);
  });
});

describe('the RunInstances request', () => {
  it('carries the location\'s instance profile, subnet, security groups, key and root volume', () => {
    const config = ec2Location('launchTemplate: cd4ml-gpu, iamInstanceProfile: cd4ml-worker, subnetId: subnet-0a, securityGroupIds: [sg-01, sg-02], keyName: me, rootVolumeGiB: 200');
    const input = runInstancesInput({ location: 'gpu', workflowId: 'train/p/v1', config }, launchChoices(config)[0]!, '/dev/sda1');
    expect(input).toMatchObject({
      LaunchTemplate: { LaunchTemplateName: 'cd4ml-gpu' },
      SubnetId: 'subnet-0a', SecurityGroupIds: ['sg-01', 'sg-02'], KeyName: 'me',
      IamInstanceProfile: { Name: 'cd4ml-worker' },
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 200, DeleteOnTermination: true } }],
    });
    const arn = ec2Location('imageId: ami-1, iamInstanceProfile: "arn:aws:iam::123456789012:instance-profile/cd4ml"');
    expect(runInstancesInput({ location: 'gpu', workflowId: 'w', config: arn }, launchChoices(arn)[0]!).IamInstanceProfile)
      .toEqual({ Arn: 'arn:aws:iam::123456789012:instance-profile/cd4ml' });
    const plain = runInstancesInput({ location: 'gpu', workflowId: 'w', config: ec2Location('imageId: ami-1') }, { instanceType: undefined, market: 'on-demand' });
    for (const key of ['SubnetId', 'SecurityGroupIds', 'IamInstanceProfile', 'KeyName', 'BlockDeviceMappings', 'ClientToken']) expect(plain).not.toHaveProperty(key);
  });

  it('refuses launch settings on a person\'s instance, both subnetId and subnetIds, and malformed ids', () => {
    expect(() => ec2Location('instanceId: i-0abc, subnetId: subnet-0a')).toThrow(/subnetId apply to launched instances/);
    expect(() => ec2Location('imageId: ami-1, subnetId: subnet-0a, subnetIds: [subnet-0b]')).toThrow(/subnetId or subnetIds, not both/);
    expect(() => ec2Location('imageId: ami-1, securityGroupIds: [default]')).toThrow(/a security group id/);
    expect(() => ec2Location('imageId: ami-1, rootVolumeGiB: 0')).toThrow(/rootVolumeGiB/);
  });
});

describe('an instance that ended before it ran', () => {
  it('counts as a capacity shortage only for capacity state reasons', () => {
    expect(endedForCapacity(new InstanceGone('i-1', 'terminated', 'Server.InsufficientInstanceCapacity', 'Insufficient capacity.'))).toBe(true);
    expect(endedForCapacity(new InstanceGone('i-1', 'terminated', 'Server.SpotInstanceTermination', 'capacity-not-available'))).toBe(true);
    expect(endedForCapacity(new InstanceGone('i-1', 'terminated', 'Client.UserInitiatedShutdown', 'User initiated shutdown'))).toBe(false);
    expect(endedForCapacity(new InstanceGone('i-1', 'terminated', 'Server.InternalError', 'Internal error'))).toBe(false);
    expect(endedForCapacity(new InstanceGone('i-1', 'missing'))).toBe(false);
  });
});

describe('startMachine heartbeat details', () => {
  it('give a retry the ids earlier attempts launched, and nothing for anything else', () => {
    expect(launchedBefore({ stage: 'start-machine', launched: ['i-0a', 'i-0b'] })).toEqual(['i-0a', 'i-0b']);
    expect(launchedBefore(undefined)).toEqual([]);
    expect(launchedBefore({ launched: 'i-0a' })).toEqual([]);
    expect(launchedBefore({ launched: [3, 'x', 'i-0c'] })).toEqual(['i-0c']);
  });
});
