import { createHash } from 'node:crypto';
import {
  DescribeImagesCommand, DescribeLaunchTemplateVersionsCommand, RunInstancesCommand,
  type EC2Client, type Instance, type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, type Ec2LocationConfig } from '@cd4ml/contracts';
import { awsErrorCode } from './client.ts';
import { CAPACITY_CODES, InstanceGone, endedForCapacity } from './instances.ts';
import { cd4mlTags } from './tags.ts';
import { sendsCd4mlUserData } from './user-data.ts';

/** Mistakes in cd4ml.yaml or the account's setup: retrying cannot help. */
const CONFIG_ERRORS = /^(InvalidAMIID\.|InvalidLaunchTemplate|InvalidParameter|InvalidInstanceType|UnauthorizedOperation|AuthFailure|MissingParameter|InvalidSubnetID|InvalidGroup|InvalidKeyPair|InvalidIamInstanceProfile)/;

export interface LaunchChoice {
  instanceType: string | undefined;
  market: 'spot' | 'on-demand';
  /** undefined: the template's (or the account's default) subnet. */
  subnetId?: string;
}

/**
 * The order launches are tried in: each instance type in the order given,
 * spot first then on-demand for that type when spot is on. A type is tried
 * on-demand before the next type so a person gets the hardware they asked
 * for first; they order the list by preference, price included. With several
 * subnets (one per zone), each type and market is tried in every subnet
 * before the next market: capacity is short per zone.
 */
export function launchChoices(cfg: Pick<Ec2LocationConfig, 'instanceTypes' | 'spot' | 'subnetId' | 'subnetIds'>): LaunchChoice[] {
  const types = cfg.instanceTypes.length ? cfg.instanceTypes : [undefined];
  const markets: LaunchChoice['market'][] = cfg.spot ? ['spot', 'on-demand'] : ['on-demand'];
  const subnets = cfg.subnetIds ?? (cfg.subnetId ? [cfg.subnetId] : [undefined]);
  return types.flatMap((instanceType) => markets.flatMap((market) => subnets.map((subnetId) => ({
    instanceType, market, ...(subnetId ? { subnetId } : {}),
  }))));
}

const describeChoice = (c: LaunchChoice) => `${c.instanceType ?? 'template type'} ${c.market}${c.subnetId ? ` in ${c.subnetId}` : ''}`;

/**
 * RunInstances' idempotency token. AWS keeps a token for at least 24 hours and
 * answers a reused one with the original instance, even a terminated one, so
 * it is unique per training run (`runId`: a retried tag is a new run) and per
 * launch of that run (`launch`: counts this run's launches that ended), and
 * the same for every attempt of the activity: a retry that cannot see what an
 * earlier attempt launched (tags and heartbeats lag) gets that instance back
 * instead of a second one.
 */
export function clientToken(t: { workflowId: string; runId: string; launch: number; choice: LaunchChoice }): string {
  const { instanceType, market, subnetId } = t.choice;
  return createHash('sha256').update([t.workflowId, t.runId, t.launch, instanceType ?? '', market, subnetId ?? ''].join('|')).digest('hex').slice(0, 64);
}

export interface LaunchRequest {
  location: string;
  workflowId: string;
  /** The training's run id: part of the client token. */
  runId: string;
  /** How many launches of this run are known to have ended (their ids, from the heartbeat): part of the client token. */
  endedLaunches: number;
  config: Ec2LocationConfig;
  userData?: string;
  onAttempt?: (choice: LaunchChoice) => void;
  /** Called as soon as RunInstances names an instance: the caller records it (heartbeat) before waiting on it. */
  onLaunched?: (instanceId: string) => void;
  /**
   * Waits for a launched instance to run. It throws InstanceGone when the
   * instance ends first; one that ends for capacity moves on to the next choice.
   */
  waitRunning: (instanceId: string) => Promise<Instance>;
}

/**
 * Launches one instance and waits for it to run, falling through the choices on
 * capacity errors (refused by RunInstances, or pending -> terminated for
 * capacity). Nothing is left running when all fail.
 */
export async function launchInstance(ec2: EC2Client, req: LaunchRequest): Promise<Instance> {
  const { config } = req;
  if (!config.launchTemplate && !config.imageId) {
    throw ApplicationFailure.nonRetryable(
      `location "${req.location}": set instanceId (start/stop an existing instance), launchTemplate or imageId in cd4ml.yaml`,
      FailureType.ConfigInvalid,
    );
  }
  const tried: string[] = [];
  const rootDevice = config.rootVolumeGiB ? await rootDeviceName(ec2, config) : undefined;
  let ended = req.endedLaunches;
  for (const choice of launchChoices(config)) {
    req.onAttempt?.(choice);
    const input = runInstancesInput(req, choice, rootDevice);
    let instanceId: string;
    try {
      const out = await ec2.send(new RunInstancesCommand({ ...input, ClientToken: clientToken({ ...req, launch: ended, choice }) }));
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) throw new Error('RunInstances returned no instance');
      instanceId = instance.InstanceId;
    } catch (err) {
      const code = awsErrorCode(err) ?? 'error';
      if (CAPACITY_CODES.has(code)) {
        tried.push(`${describeChoice(choice)}: ${code}`);
        continue;
      }
      if (CONFIG_ERRORS.test(code)) {
        throw ApplicationFailure.nonRetryable(
          `location "${req.location}": EC2 refused the launch (${code}: ${(err as Error).message}); check launchTemplate/imageId/instanceTypes/subnetIds/securityGroupIds/iamInstanceProfile/keyName in cd4ml.yaml and the credentials' permissions`,
          FailureType.ConfigInvalid,
        );
      }
      throw err;
    }
    req.onLaunched?.(instanceId);
    try {
      return await req.waitRunning(instanceId);
    } catch (err) {
      if (!(err instanceof InstanceGone) || !endedForCapacity(err)) throw err;
      // Accepted, then ended before it ran: AWS found no capacity after all. Like a refusal, try the next choice.
      ended += 1;
      tried.push(`${describeChoice(choice)}: ${instanceId} ${err.state} (${err.reasonCode})`);
    }
  }
  // Capacity shortages for GPU types tend to last hours: fail now with what was tried, so a person can widen the list.
  throw ApplicationFailure.nonRetryable(
    `location "${req.location}": no capacity for any instance type: ${tried.join('; ')}. Add types to locations.${req.location}.instanceTypes${config.subnetIds || config.subnetId ? ' or subnets in other zones to subnetIds' : ''}, turn spot off, or try another region`,
    FailureType.CapacityUnavailable,
    { tried },
  );
}

/** What one RunInstances asks for (no client token). Location settings override the launch template's. */
export function runInstancesInput(
  req: Pick<LaunchRequest, 'location' | 'workflowId' | 'config' | 'userData'>, choice: LaunchChoice, rootDevice?: string,
): RunInstancesCommandInput {
  const { config } = req;
  const profile = config.iamInstanceProfile;
  return {
    MinCount: 1,
    MaxCount: 1,
    ...(config.launchTemplate ? { LaunchTemplate: templateRef(config.launchTemplate) } : { ImageId: config.imageId }),
    ...(choice.instanceType ? { InstanceType: choice.instanceType as never } : {}),
    ...(choice.market === 'spot'
      ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } } }
      : {}),
    ...(choice.subnetId ? { SubnetId: choice.subnetId } : {}),
    ...(config.securityGroupIds ? { SecurityGroupIds: config.securityGroupIds } : {}),
    ...(profile ? { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } } : {}),
    ...(config.keyName ? { KeyName: config.keyName } : {}),
    ...(config.rootVolumeGiB && rootDevice
      ? { BlockDeviceMappings: [{ DeviceName: rootDevice, Ebs: { VolumeSize: config.rootVolumeGiB, DeleteOnTermination: true } }] }
      : {}),
    // With a launch template its own user data applies; ours only for a bare AMI.
    // Ours replaces a template's own, unless the location asks for the template's (userData: template).
    ...(req.userData && sendsCd4mlUserData(config) ? { UserData: Buffer.from(req.userData).toString('base64') } : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: cd4mlTags(req.location, req.workflowId, 'launch-terminate') },
      { ResourceType: 'volume', Tags: cd4mlTags(req.location, req.workflowId, 'launch-terminate') },
    ],
  };
}

/** The root device of the AMI the location launches (the template's AMI for a template): rootVolumeGiB resizes it. */
async function rootDeviceName(ec2: EC2Client, config: Ec2LocationConfig): Promise<string> {
  let imageId = config.imageId;
  if (!imageId && config.launchTemplate) {
    const ref = templateRef(config.launchTemplate);
    const out = await ec2.send(new DescribeLaunchTemplateVersionsCommand({
      ...(ref.LaunchTemplateId ? { LaunchTemplateId: ref.LaunchTemplateId } : { LaunchTemplateName: ref.LaunchTemplateName }),
      Versions: [ref.Version ?? '$Default'],
    }));
    imageId = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId;
  }
  if (!imageId) return '/dev/xvda';
  const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  return image?.RootDeviceName ?? '/dev/xvda';
}

/** `lt-0abc...` is an id; anything else a name. `name:version` pins a version. */
function templateRef(ref: string): { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string } {
  const [id, version] = ref.split(':');
  return id!.startsWith('lt-') ? { LaunchTemplateId: id, Version: version } : { LaunchTemplateName: id, Version: version };
}
