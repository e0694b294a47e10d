import { describe, expect, it } from 'vitest';
import { LocationConfig, type Ec2LocationConfig } from '@cd4ml/contracts';
import { launchChoices } from '@cd4ml/activities/compute/ec2/launch';
import { maxInterruptions, replacementConfig } from '../../workflows/src/spot-choices.ts';

const ec2 = (extra: Record<string, unknown>) => LocationConfig.parse({
  provider: 'ec2', region: 'us-east-1', imageId: 'ami-1', instanceTypes: ['g5.xlarge', 'g4dn.xlarge', 'p3.2xlarge'], ...extra,
}) as Ec2LocationConfig;
const order = (cfg: Ec2LocationConfig) => launchChoices(cfg).map((c) => `${c.instanceType} ${c.market}${c.subnetId ? ` ${c.subnetId}` : ''}`);

describe('the replacement of a reclaimed spot instance', () => {
  it('starts with the type after the reclaimed one, spot first, the reclaimed type last', () => {
    const cfg = replacementConfig(ec2({ spot: true }), { instanceType: 'g4dn.xlarge' }, 1);
    expect(order(cfg)).toEqual([
      'p3.2xlarge spot', 'p3.2xlarge on-demand', 'g5.xlarge spot', 'g5.xlarge on-demand', 'g4dn.xlarge spot', 'g4dn.xlarge on-demand',
    ]);
  });

  it('moves on to the next subnet (zone) too', () => {
    const cfg = replacementConfig(ec2({ spot: true, instanceTypes: ['g5.xlarge'], subnetIds: ['subnet-a', 'subnet-b'] }), { instanceType: 'g5.xlarge', subnetId: 'subnet-a' }, 1);
    expect(order(cfg)).toEqual(['g5.xlarge spot subnet-b', 'g5.xlarge spot subnet-a', 'g5.xlarge on-demand subnet-b', 'g5.xlarge on-demand subnet-a']);
  });

  it('is on-demand only once the interruptions reach spot.maxInterruptions (default 2)', () => {
    expect(maxInterruptions(ec2({ spot: true }))).toBe(2);
    expect(replacementConfig(ec2({ spot: true }), { instanceType: 'g5.xlarge' }, 1).spot).toBe(true);
    expect(order(replacementConfig(ec2({ spot: true }), { instanceType: 'g5.xlarge' }, 2))).toEqual([
      'g4dn.xlarge on-demand', 'p3.2xlarge on-demand', 'g5.xlarge on-demand',
    ]);
    const once = ec2({ spot: { maxInterruptions: 0 } });
    expect(maxInterruptions(once)).toBe(0);
    expect(replacementConfig(once, { instanceType: 'g5.xlarge' }, 1).spot).toBe(false);
  });

  it('keeps the list as given when the reclaimed type is not in it (a launch template\'s own type)', () => {
    expect(replacementConfig(ec2({ spot: true }), { instanceType: 'm5.large' }, 1).instanceTypes).toEqual(['g5.xlarge', 'g4dn.xlarge', 'p3.2xlarge']);
  });
});
