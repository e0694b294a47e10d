/** What went wrong with a store, so callers can tell "try later" from "fix something". */
export type StoreErrorKind =
  | 'missing-bucket' | 'access-denied' | 'no-credentials' | 'no-region'
  | 'timeout' | 'unreachable' | 'corrupted' | 'missing' | 'failed';

export class StoreError extends Error {
  constructor(readonly kind: StoreErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/**
 * An SDK error as a StoreError naming the bucket and object, what failed and
 * what to do about it. Never includes credentials: the SDK's errors carry none.
 */
export function s3Error(err: unknown, ctx: { action: string; bucket: string; where: string; timeoutMs: number }): StoreError {
  if (err instanceof StoreError) return err;
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.name ?? e.code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const { action, bucket, where } = ctx;
  const make = (kind: StoreErrorKind, message: string) => new StoreError(kind, message, { cause: err });
  if (code === 'NoSuchBucket') {
    return make('missing-bucket', `S3 bucket "${bucket}" does not exist (${action} ${where}). Create it (aws s3 mb s3://${bucket}) or fix the store url.`);
  }
  if (['AccessDenied', 'AllAccessDisabled', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'].includes(code) || status === 403) {
    return make(
      'access-denied',
      `S3 refused ${action} ${where} (${code || status}): the credentials from the AWS default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ` +
        `an instance role) must be valid and allowed s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on bucket "${bucket}".`,
    );
  }
  if (e.name === 'CredentialsProviderError') {
    return make('no-credentials', `no AWS credentials for ${action} ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance role.`);
  }
  if (/region is missing/i.test(e.message ?? '')) {
    return make('no-region', `no AWS region for ${action} ${where}: set AWS_REGION (the bucket's region) or a region in your AWS profile.`);
  }
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'TimeoutError') {
    return make('timeout', `S3 ${action} ${where} timed out (limit ${Math.round(ctx.timeoutMs / 1000)} s): check the network and the endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL).`);
  }
  const netCode = e.code ?? (err as { cause?: { code?: string } })?.cause?.code ?? '';
  if (NETWORK_CODES.has(netCode)) {
    return make('unreachable', `could not reach S3 for ${action} ${where} (${netCode}): check the network and the endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL).`);
  }
  return make('failed', `S3 ${action} ${where} failed: ${code || 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`);
}

/** The object (or, for HeadObject, possibly the bucket) is not there. */
export const isNotFound = (err: unknown): boolean => {
  const e = (err ?? {}) as SdkError;
  return e.name === 'NoSuchKey' || e.Code === 'NoSuchKey' || (e.name === 'NotFound' && e.$metadata?.httpStatusCode === 404);
};
