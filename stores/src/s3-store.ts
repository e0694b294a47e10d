import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Client, S3_TIMEOUTS } from './s3-client.ts';
import { isNotFound, s3Error, StoreError } from './s3-errors.ts';
import { sha256Of } from './sha256.ts';
import { checkKey, isProjectName, type ReleaseStore, type StoredObject } from './store.ts';

/**
 * Multipart part size. 8 MiB (the AWS CLI's default too): a failed part is
 * retried alone, so small parts waste little on a flaky link; 4 parts in
 * flight buffer 32 MiB; 10,000 parts allow 78 GiB, far beyond ONNX's 2 GiB
 * protobuf limit. Smaller objects go up in one PUT.
 */
export const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;
/** CopyObject's limit; beyond it we copy through the local cache. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

export interface S3StoreOptions {
  /** Default: createS3Client(), configured from the environment. */
  client?: S3Client;
  /** Where localFile() keeps downloads. Default: <tmpdir>/cd4ml-store-cache. */
  cacheDir?: string;
  partSize?: number;
  /** Deadlines of whole calls; default S3_TIMEOUTS. */
  timeouts?: { callMs?: number; transferBaseMs?: number };
}

/** s3://bucket/prefix -> bucket and the key prefix ('' or 'a/b/'). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/?#]*)\/?([^?#]*)$/.exec(url);
  if (!m) throw new Error(`release store "${url}" is not an s3://bucket/prefix url`);
  const bucket = m[1]!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`"${bucket}" in ${url} is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)`);
  }
  const prefix = m[2]!.replace(/\/+$/, '');
  if (prefix) checkKey(prefix);
  return { bucket, prefix: prefix ? `${prefix}/` : '' };
}

const hexOfBase64 = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

/**
 * The release store in an S3 bucket, with the directory store's layout under
 * the url's prefix. Every upload is read back and its sha256 compared with the
 * local bytes; a mismatch deletes the object and fails.
 */
export class S3Store implements ReleaseStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly cacheRoot: string;
  private readonly partSize: number;
  private readonly callMs: number;
  private readonly transferBaseMs: number;

  constructor(url: string, opts: S3StoreOptions = {}) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
    this.client = opts.client ?? createS3Client();
    this.cacheRoot = path.join(opts.cacheDir ?? path.join(os.tmpdir(), 'cd4ml-store-cache'), this.bucket, this.prefix);
    this.partSize = opts.partSize ?? PART_SIZE;
    this.callMs = opts.timeouts?.callMs ?? S3_TIMEOUTS.callMs;
    this.transferBaseMs = opts.timeouts?.transferBaseMs ?? S3_TIMEOUTS.transferBaseMs;
  }

  /** A transfer's deadline: the base plus one second per MiB (assumes >= 1 MiB/s). */
  private transferMs(bytes: number): number {
    return this.transferBaseMs + Math.ceil(bytes / 1024 / 1024) * 1000;
  }

  get url(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
  }

  locate(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  private objectKey(key: string): string {
    return this.prefix + checkKey(key);
  }

  /** Runs one SDK call under a deadline; its failure becomes a StoreError that names the object. */
  private async call<T>(action: string, key: string, run: (abortSignal: AbortSignal) => Promise<T>, timeoutMs = this.callMs): Promise<T> {
    try {
      return await run(AbortSignal.timeout(timeoutMs));
    } catch (err) {
      throw s3Error(err, { action, bucket: this.bucket, where: this.locate(key), timeoutMs });
    }
  }

  async putText(key: string, text: string): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    const sha256 = createHash('sha256').update(body).digest('hex');
    await this.upload(key, body, body.length, sha256);
  }

  /** One PutObject with If-Match (the ETag) or If-None-Match: *, S3's conditional writes; 412/409 mean someone wrote first. */
  async putTextIf(key: string, text: string, ifVersion: string | null): Promise<boolean> {
    const body = Buffer.from(text, 'utf8');
    return this.call('write', key, async (abortSignal) => {
      try {
        await this.client.send(new PutObjectCommand({
          Bucket: this.bucket, Key: this.objectKey(key), Body: body, ContentType: 'application/json',
          ...(ifVersion === null ? { IfNoneMatch: '*' } : { IfMatch: ifVersion }),
        }), { abortSignal });
        return true;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (status === 412 || status === 409 || e.name === 'PreconditionFailed' || (ifVersion !== null && isNotFound(err))) return false;
        throw err;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    const listPrefix = `${this.objectKey(prefix)}/`;
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.call('list', prefix, (abortSignal) => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: listPrefix, Delimiter: '/', ContinuationToken: token,
      }), { abortSignal }));
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(listPrefix.length).replace(/\/$/, ''));
      for (const o of page.Contents ?? []) if (o.Key) names.add(o.Key.slice(listPrefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return [...names].filter(Boolean).sort();
  }

  async listProjects(): Promise<string[]> {
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.call('list', '(root)', (abortSignal) => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: this.prefix || undefined, Delimiter: '/', ContinuationToken: token,
      }), { abortSignal }));
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(this.prefix.length).replace(/\/$/, ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return [...names].filter(isProjectName).sort();
  }

  async putFile(key: string, srcPath: string): Promise<void> {
    const { sha256, bytes } = await sha256Of(createReadStream(srcPath));
    await this.upload(key, createReadStream(srcPath), bytes, sha256);
  }

  /** One PUT, or a multipart upload above the part size; then the read-back check. */
  private async upload(key: string, body: Buffer | Readable, bytes: number, sha256: string): Promise<void> {
    const timeoutMs = this.transferMs(bytes);
    await this.call('upload to', key, async (signal) => {
      const upload = new Upload({
        client: this.client,
        partSize: this.partSize,
        queueSize: PARTS_IN_FLIGHT,
        params: {
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: body,
          ContentLength: bytes,
          // S3 checks each part against its SHA-256 and rejects a damaged one at once.
          ChecksumAlgorithm: 'SHA256',
          // Lets copy() verify without reading the object back.
          Metadata: { sha256 },
        },
      });
      const abort = () => void upload.abort();
      signal.addEventListener('abort', abort, { once: true });
      try {
        await upload.done();
      } finally {
        signal.removeEventListener('abort', abort);
      }
    }, timeoutMs);
    // Not every S3 (moto, some stand-ins) checks the checksums it is sent, and
    // a composite multipart checksum is not the file's sha256: reading the
    // object back is the one check that holds everywhere.
    const stored = await this.readHash(key, bytes);
    if (stored.sha256 !== sha256 || stored.bytes !== bytes) await this.rejectCorrupted(key, stored, { sha256, bytes });
  }

  private async readHash(key: string, bytes: number): Promise<{ sha256: string; bytes: number }> {
    const timeoutMs = this.transferMs(bytes);
    return this.call('read back', key, async (abortSignal) => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), { abortSignal });
      return sha256Of(res.Body as Readable);
    }, timeoutMs);
  }

  private async rejectCorrupted(key: string, stored: { sha256: string; bytes: number }, local: { sha256: string; bytes: number }): Promise<never> {
    // No reader may take the damaged object for the real one.
    await this.call('delete', key, (abortSignal) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), { abortSignal })).catch(() => undefined);
    throw new StoreError(
      'corrupted',
      `upload to ${this.locate(key)} arrived damaged: the store holds ${stored.bytes} bytes with sha256 ${stored.sha256}, ` +
        `the source has ${local.bytes} bytes with sha256 ${local.sha256}. The object was deleted; upload it again.`,
    );
  }

  async getText(key: string): Promise<string | null> {
    return this.call('read', key, async (abortSignal) => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), { abortSignal });
        return await res.Body!.transformToString('utf8');
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  async stat(key: string): Promise<StoredObject | null> {
    const head = await this.head(key);
    return head && { bytes: head.bytes, version: head.etag };
  }

  private head(key: string): Promise<{ bytes: number; etag: string; sha256?: string } | null> {
    return this.call('look up', key, async (abortSignal) => {
      try {
        const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), { abortSignal });
        return { bytes: res.ContentLength ?? 0, etag: res.ETag ?? '', ...(res.Metadata?.sha256 ? { sha256: res.Metadata.sha256 } : {}) };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    });
  }

  private async headOrFail(key: string): Promise<{ bytes: number; etag: string; sha256?: string }> {
    const head = await this.head(key);
    if (!head) throw new StoreError('missing', `${this.locate(key)} does not exist`);
    return head;
  }

  /**
   * Downloads the object into the cache once per version (ETag), checked
   * against the sha256 recorded at upload, and returns the cached file.
   * Callers that trust nothing (serving) still hash it themselves.
   */
  async localFile(key: string): Promise<string> {
    const head = await this.headOrFail(key);
    const version = createHash('sha256').update(head.etag).digest('hex').slice(0, 16);
    const file = path.join(this.cacheRoot, `${checkKey(key)}@${version}`);
    if ((await stat(file).catch(() => null))?.size === head.bytes) return file;
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    const timeoutMs = this.transferMs(head.bytes);
    try {
      await this.call('download', key, async (abortSignal) => {
        // IfMatch: the bytes are the version we named the file after, or the call fails.
        const res = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), IfMatch: head.etag }), { abortSignal },
        );
        await pipeline(res.Body as Readable, createWriteStream(tmp), { signal: abortSignal });
      }, timeoutMs);
      const got = await sha256Of(createReadStream(tmp));
      if (got.bytes !== head.bytes) throw new StoreError('failed', `download of ${this.locate(key)} ended after ${got.bytes} of ${head.bytes} bytes; try again`);
      if (head.sha256 && got.sha256 !== head.sha256) {
        throw new StoreError('corrupted', `download of ${this.locate(key)} is damaged: sha256 ${got.sha256}, uploaded as ${head.sha256}; try again`);
      }
      await rename(tmp, file);
    } finally {
      await rm(tmp, { force: true });
    }
    return file;
  }

  /** A server-side copy, checked by the SHA-256 S3 computes of the copy against the source's. */
  async copy(fromKey: string, toKey: string): Promise<void> {
    const source = await this.headOrFail(fromKey);
    if (source.bytes > MAX_COPY_BYTES) return this.putFile(toKey, await this.localFile(fromKey));
    const expected = source.sha256 ?? (await this.readHash(fromKey, source.bytes)).sha256;
    const copySource = `${this.bucket}/${this.objectKey(fromKey).split('/').map(encodeURIComponent).join('/')}`;
    const res = await this.call('copy to', toKey, (abortSignal) => this.client.send(new CopyObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(toKey),
      CopySource: copySource,
      CopySourceIfMatch: source.etag,
      ChecksumAlgorithm: 'SHA256',
      MetadataDirective: 'REPLACE',
      Metadata: { sha256: expected },
    }), { abortSignal }), this.transferMs(source.bytes));
    const reported = res.CopyObjectResult?.ChecksumSHA256;
    const copied = reported ? { sha256: hexOfBase64(reported), bytes: source.bytes } : await this.readHash(toKey, source.bytes);
    if (copied.sha256 !== expected) await this.rejectCorrupted(toKey, copied, { sha256: expected, bytes: source.bytes });
  }

  /** Lists every object under prefix/ and deletes them 1,000 (S3's batch limit) at a time; drops their cached copies too. */
  async removePrefix(prefix: string): Promise<void> {
    const listPrefix = `${this.objectKey(prefix)}/`;
    let token: string | undefined;
    do {
      const page = await this.call('list', prefix, (abortSignal) => this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: listPrefix, ContinuationToken: token,
      }), { abortSignal }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) {
        const res = await this.call('delete under', prefix, (abortSignal) => this.client.send(new DeleteObjectsCommand({
          Bucket: this.bucket, Delete: { Objects: keys, Quiet: true },
        }), { abortSignal }));
        const failed = res.Errors ?? [];
        if (failed.length) {
          const first = failed[0]!;
          throw s3Error({ Code: first.Code, message: `${failed.length} objects not deleted, first ${first.Key}: ${first.Message}` }, {
            action: 'delete under', bucket: this.bucket, where: this.locate(prefix), timeoutMs: this.callMs,
          });
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await rm(path.join(this.cacheRoot, checkKey(prefix)), { recursive: true, force: true });
  }
}
