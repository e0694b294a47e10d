import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/** Every S3 call is bounded; these are the bounds and why. */
export const S3_TIMEOUTS = {
  /** A TCP connect that takes longer means a dead or wrong endpoint. */
  connectMs: 5_000,
  /** No byte sent or received for this long: the connection is stuck (rolling, covers downloads). */
  idleMs: 30_000,
  /** One request until its response headers, including sending one part (8 MiB at >= 70 KB/s). */
  requestMs: 120_000,
  /** A whole small call (head, text, list, delete), retries included. */
  callMs: 60_000,
  /** A whole transfer: this much plus one second per MiB (assumes >= 1 MiB/s). */
  transferBaseMs: 60_000,
} as const;

/**
 * The endpoint the SDK will use instead of AWS's, if any. The SDK reads
 * AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL itself (and honours
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS); we only look so we know to switch to
 * path-style addressing.
 */
export function endpointOverride(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '')) return undefined;
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * An S3 client from the SDK's default chains: region (AWS_REGION, profile),
 * credentials (env, profile, SSO, instance role) and endpoint. `config` wins
 * over all of them (tests pass moto's endpoint and keys this way).
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  const overridden = config.endpoint !== undefined || endpointOverride() !== undefined;
  return new S3Client({
    // moto, MinIO and other stand-ins answer on one host name: the bucket goes in the path.
    forcePathStyle: overridden,
    // We hash what we read ourselves (the read-back after an upload, downloads
    // against the sha256 recorded at upload), so the verdict and its message are ours.
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: S3_TIMEOUTS.connectMs,
      socketTimeout: S3_TIMEOUTS.idleMs,
      requestTimeout: S3_TIMEOUTS.requestMs,
      throwOnRequestTimeout: true,
    },
    ...config,
  });
}
