import { EC2Client } from '@aws-sdk/client-ec2';

/**
 * An EC2 client for a location. Credentials come from the AWS SDK's own chain
 * (env, profile, instance role); cd4ml never reads or stores them. Every call
 * is bounded: a hung endpoint fails the attempt instead of the whole training.
 * `retry: false` is for launching: AWS answers a capacity shortage with a 5xx,
 * which the SDK would repeat against the same instance type; cd4ml moves on to
 * the next type instead (and the activity's retry covers other failures).
 */
export function ec2Client(where: { region?: string; endpoint?: string }, { retry = true } = {}): EC2Client {
  return new EC2Client({
    region: where.region,
    ...(where.endpoint ? { endpoint: where.endpoint } : {}),
    maxAttempts: retry ? 4 : 1,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
}

/** The AWS error code (`InsufficientInstanceCapacity`, `InvalidInstanceID.NotFound`, ...). */
export function awsErrorCode(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; code?: string } | undefined;
  return e?.Code ?? e?.code ?? e?.name;
}
