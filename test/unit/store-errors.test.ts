import { describe, expect, it } from 'vitest';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { StoreError } from '@cd4ml/stores';
import { s3Error } from '@cd4ml/stores/s3-errors';

// The SDK's failures as the store reports them: what failed, where, and what
// to do next. (A missing bucket and a timeout are also met for real against
// moto in test/integration/s3-store.test.ts.)

const ctx = { action: 'read', bucket: 'team-models', where: 's3://team-models/releases/penguins/latest.json', timeoutMs: 60_000 };
const sdkError = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

describe('S3 errors', () => {
  it('access denied names the bucket and the permissions the credentials need', () => {
    for (const err of [sdkError('AccessDenied', 403), sdkError('InvalidAccessKeyId', 403), sdkError('Forbidden', 403)]) {
      const e = s3Error(err, ctx);
      expect(e).toBeInstanceOf(StoreError);
      expect(e.kind).toBe('access-denied');
      expect(e.message).toMatch(/^S3 refused read s3:\/\/team-models\/releases\/penguins\/latest.json \((AccessDenied|InvalidAccessKeyId|Forbidden)\): /);
      expect(e.message).toContain('s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on bucket "team-models"');
    }
  });

  it('missing credentials or region say which variables to set', () => {
    const noCreds = s3Error(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), ctx);
    expect(noCreds).toMatchObject({ kind: 'no-credentials', message: expect.stringContaining('set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE') });
    expect(s3Error(new Error('Region is missing'), ctx)).toMatchObject({ kind: 'no-region', message: expect.stringContaining('set AWS_REGION') });
  });

  it('an unreachable endpoint and anything else keep the cause and say where', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(s3Error(refused, ctx)).toMatchObject({ kind: 'unreachable', cause: refused, message: expect.stringContaining('(ECONNREFUSED): check the network') });
    expect(s3Error(sdkError('SlowDown', 503), ctx).message).toBe(`S3 read ${ctx.where} failed: SlowDown (HTTP 503): SlowDown`);
  });
});
