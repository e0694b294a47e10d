import { EC2Client } from '@aws-sdk/client-ec2';

/**
 * An EC2 client for a location. Credentials come from the AWS SDK's own chain
 * (env, profile, instance role); cd4ml never reads or stores them. Every call
 * is bounded: a hung endpoint fails the attempt instead of the whole training.
 */
export function ec2Client(where: { region?: string; endpoint?: string }): EC2Client {
  return new EC2Client({
    region: where.region,
    ...(where.endpoint ? { endpoint: where.endpoint } : {}),
    maxAttempts: 4,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

/** The AWS error code (`InsufficientInstanceCapacity`, `InvalidInstanceID.NotFound`, ...). */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; code?: string } | undefined;
  return e?.Code ?? e?.code ?? e?.name;
}
