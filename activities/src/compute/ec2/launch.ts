import { createHash } from 'node:crypto';
import { RunInstancesCommand, type EC2Client, type Instance, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, type Ec2LocationConfig } from '@cd4ml/contracts';
import { awsErrorCode } from './client.ts';
import { cd4mlTags } from './tags.ts';
import { sendsCd4mlUserData } from './user-data.ts';

/**
 * Errors that mean "not this type (or market) right now": the next choice may
 * well work. AWS reports spot shortages with their own codes.
 */
const CAPACITY_ERRORS = new Set([
  'InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientCapacity', 'Unsupported',
  'SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded', 'VcpuLimitExceeded', 'InstanceLimitExceeded',
]);

/** Mistakes in cd4ml.yaml or the account's setup: retrying cannot help. */
const CONFIG_ERRORS = /^(InvalidAMIID\.|InvalidLaunchTemplate|InvalidParameter|InvalidInstanceType|UnauthorizedOperation|AuthFailure|MissingParameter)/;

export interface LaunchChoice {
  instanceType: string | undefined;
  market: 'spot' | 'on-demand';
}

/**
 * The order launches are tried in: each instance type in the order given,
 * spot first then on-demand for that type when spot is on. A type is tried
 * on-demand before the next type so a person gets the hardware they asked
 * for first; they order the list by preference, price included.
 */
export function launchChoices(cfg: Pick<Ec2LocationConfig, 'instanceTypes' | 'spot'>): LaunchChoice[] {
  const types = cfg.instanceTypes.length ? cfg.instanceTypes : [undefined];
  const markets: LaunchChoice['market'][] = cfg.spot ? ['spot', 'on-demand'] : ['on-demand'];
  return types.flatMap((instanceType) => markets.map((market) => ({ instanceType, market })));
}

export interface LaunchRequest {
  location: string;
  workflowId: string;
  config: Ec2LocationConfig;
  userData?: string;
  onAttempt?: (choice: LaunchChoice) => void;
}

/** Launches one instance, falling through the choices on capacity errors. Nothing is left running when all fail. */
export async function launchInstance(ec2: EC2Client, req: LaunchRequest): Promise<Instance> {
  const { config } = req;
  if (!config.launchTemplate && !config.imageId) {
    throw ApplicationFailure.nonRetryable(
      `location "${req.location}": set instanceId (start/stop an existing instance), launchTemplate or imageId in cd4ml.yaml`,
      FailureType.ConfigInvalid,
    );
  }
  const tried: string[] = [];
  for (const choice of launchChoices(config)) {
    req.onAttempt?.(choice);
    const input: RunInstancesCommandInput = {
      MinCount: 1,
      MaxCount: 1,
      ...(config.launchTemplate ? { LaunchTemplate: templateRef(config.launchTemplate) } : { ImageId: config.imageId }),
      ...(choice.instanceType ? { InstanceType: choice.instanceType as never } : {}),
      ...(choice.market === 'spot'
        ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } } }
        : {}),
      // Ours replaces a template's own, unless the location asks for the template's (userData: template).
      ...(req.userData && sendsCd4mlUserData(config) ? { UserData: Buffer.from(req.userData).toString('base64') } : {}),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: cd4mlTags(req.location, req.workflowId, 'launch-terminate') },
        { ResourceType: 'volume', Tags: cd4mlTags(req.location, req.workflowId, 'launch-terminate') },
      ],
      // Same training, same choice -> AWS returns the same instance instead of a second one.
      ClientToken: createHash('sha256').update(`${req.workflowId}|${choice.instanceType ?? ''}|${choice.market}`).digest('hex').slice(0, 64),
    };
    try {
      const out = await ec2.send(new RunInstancesCommand(input));
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) throw new Error('RunInstances returned no instance');
      return instance;
    } catch (err) {
      const code = awsErrorCode(err) ?? 'error';
      if (CAPACITY_ERRORS.has(code)) {
        tried.push(`${choice.instanceType ?? 'template type'} ${choice.market}: ${code}`);
        continue;
      }
      if (CONFIG_ERRORS.test(code)) {
        throw ApplicationFailure.nonRetryable(
          `location "${req.location}": EC2 refused the launch (${code}: ${(err as Error).message}); check launchTemplate/imageId/instanceTypes in cd4ml.yaml and the credentials' permissions`,
          FailureType.ConfigInvalid,
        );
      }
      throw err;
    }
  }
  // Capacity shortages for GPU types tend to last hours: fail now with what was tried, so a person can widen the list.
  throw ApplicationFailure.nonRetryable(
    `location "${req.location}": no capacity for any instance type: ${tried.join('; ')}. Add types to locations.${req.location}.instanceTypes, turn spot off, or try another region`,
    FailureType.CapacityUnavailable,
    { tried },
  );
}

/** `lt-0abc...` is an id; anything else a name. `name:version` pins a version. */
function templateRef(ref: string): { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string } {
  const [id, version] = ref.split(':');
  return id!.startsWith('lt-') ? { LaunchTemplateId: id, Version: version } : { LaunchTemplateName: id, Version: version };
}
