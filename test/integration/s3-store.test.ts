import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, openStore, PART_SIZE, S3Store, StoreError } from '@cd4ml/stores';
import { Moto } from '../harness/moto.ts';
import { CorruptingProxy } from '../harness/corrupting-proxy.ts';

// S3Store against a real moto_server: the SDK's real signing, multipart
// uploads and XML parsing over HTTP on loopback.

const BUCKET = 'cd4ml-store-test';
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('S3Store against moto', () => {
  let moto: Moto;
  let client: S3Client;
  let dir: string;
  const store = (prefix = 'releases', endpoint?: string): S3Store =>
    new S3Store(`s3://${BUCKET}/${prefix}`, { client: endpoint ? createS3Client(moto.clientConfig(endpoint)) : client, cacheDir: path.join(dir, 'cache') });
  const keysUnder = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();

  beforeAll(async () => {
    moto = await Moto.start();
    client = createS3Client(moto.clientConfig());
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-s3-test-'));
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('round trip: text, file, stat, localFile (cached per version), copy, removePrefix, with the directory layout under the prefix', async () => {
    const s = store('team/releases');
    expect(s.url).toBe(`s3://${BUCKET}/team/releases`);
    expect(s.locate('penguins/latest.json')).toBe(`s3://${BUCKET}/team/releases/penguins/latest.json`);

    expect(await s.getText('penguins/latest.json')).toBeNull();
    expect(await s.stat('penguins/latest.json')).toBeNull();
    await s.putText('penguins/latest.json', '{"tag":"v1"}\n');
    expect(await s.getText('penguins/latest.json')).toBe('{"tag":"v1"}\n');

    const model = randomBytes(200_000);
    const src = path.join(dir, 'model.onnx');
    await writeFile(src, model);
    await s.putFile('penguins/.candidates/v1/model.onnx', src);
    await s.putText('penguins/.candidates/v1/smoke.json', '{}');
    expect(await s.stat('penguins/.candidates/v1/model.onnx')).toEqual({ bytes: model.length, version: expect.any(String) });

    const local = await s.localFile('penguins/.candidates/v1/model.onnx');
    expect(local.startsWith(path.join(dir, 'cache', BUCKET, 'team/releases/penguins/.candidates/v1/model.onnx@'))).toBe(true);
    expect(sha256(await readFile(local))).toBe(sha256(model));
    expect(await s.localFile('penguins/.candidates/v1/model.onnx')).toBe(local); // same version: no second download
    await expect(s.localFile('penguins/v9/model.onnx')).rejects.toMatchObject({ kind: 'missing', message: `s3://${BUCKET}/team/releases/penguins/v9/model.onnx does not exist` });

    await s.copy('penguins/.candidates/v1/model.onnx', 'penguins/v1/model.onnx');
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'team/releases/penguins/v1/model.onnx' }));
    expect(head.Metadata?.sha256).toBe(sha256(model));
    expect(sha256(await readFile(await s.localFile('penguins/v1/model.onnx')))).toBe(sha256(model));

    // A sibling whose name starts the same survives: removePrefix removes a "folder", not a string prefix.
    await s.putText('penguins/.candidates/v10/smoke.json', '{}');
    await s.removePrefix('penguins/.candidates/v1');
    expect(await keysUnder('team/releases/')).toEqual([
      'team/releases/penguins/.candidates/v10/smoke.json', 'team/releases/penguins/latest.json', 'team/releases/penguins/v1/model.onnx',
    ]);
    await s.removePrefix('penguins/.candidates/nothing-here');
    // The candidate's cached download went with it.
    await expect(readFile(local)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('listProjects: the project folders under the prefix (ListObjectsV2 with delimiter /), not files, dot-folders or a sibling prefix; list("") still refused', async () => {
    const s = store('projects-test');
    await s.putText('penguins/v1.0/release.json', '{}');
    await s.putText('diabetes/latest.json', '{"tag":"v1"}');
    await s.putText('.cache/x', 'x');
    await s.putText('notes.txt', 'not a project');
    await store('projects-test-other').putText('elsewhere/latest.json', '{}');
    expect(await s.listProjects()).toEqual(['diabetes', 'penguins']);
    expect(await store('projects-none').listProjects()).toEqual([]);
    expect(await store('').listProjects()).toEqual(expect.arrayContaining(['projects-test', 'projects-test-other']));
    await expect(s.list('')).rejects.toThrow(/not a plain relative path/);
  });

  it('uploads a file above the part size in parts, and verifies it', async () => {
    const big = randomBytes(PART_SIZE + 3 * 1024 * 1024);
    const src = path.join(dir, 'big.onnx');
    await writeFile(src, big);
    const s = store();
    const started = performance.now();
    await s.putFile('penguins/v2/model.onnx', src);
    const ms = performance.now() - started;
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'releases/penguins/v2/model.onnx' }));
    expect(head.ETag).toMatch(/-2"$/); // a multipart object's ETag names its part count
    expect(head.ContentLength).toBe(big.length);
    expect(sha256(await readFile(await s.localFile('penguins/v2/model.onnx')))).toBe(sha256(big));
    console.log(`multipart: ${(big.length / 2 ** 20).toFixed(0)} MiB in 2 parts, uploaded and read back in ${Math.round(ms)} ms`);
  });

  it('detects bytes damaged on the way: an upload is deleted with a clear error, a download is not cached', async () => {
    const proxy = await CorruptingProxy.start(moto.endpoint);
    try {
      const s = store('releases', proxy.url);
      const model = randomBytes(64 * 1024);
      const src = path.join(dir, 'damaged.onnx');
      await writeFile(src, model);
      await s.putFile('penguins/v3/model.onnx', src); // the proxy passes bytes through unharmed...
      proxy.corruptUploads = true; // ...until now
      const err = await s.putFile('penguins/v3/model.onnx', src).catch((e: unknown) => e);
      expect(proxy.corrupted).toBe(1);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).kind).toBe('corrupted');
      expect((err as StoreError).message).toBe(
        `upload to s3://${BUCKET}/releases/penguins/v3/model.onnx arrived damaged: the store holds ${model.length} bytes with sha256 ` +
          `${(err as StoreError).message.match(/sha256 ([0-9a-f]{64}), the source/)![1]}, the source has ${model.length} bytes with sha256 ${sha256(model)}. ` +
          'The object was deleted; upload it again.',
      );
      expect(await s.stat('penguins/v3/model.onnx')).toBeNull();

      // The same through a multipart upload: every part is damaged.
      const big = randomBytes(PART_SIZE + 1024 * 1024);
      await writeFile(src, big);
      await expect(s.putFile('penguins/v3/model.onnx', src)).rejects.toMatchObject({ kind: 'corrupted' });
      expect(proxy.corrupted).toBe(3);
      expect(await s.stat('penguins/v3/model.onnx')).toBeNull();

      // A damaged download is not taken into the cache either.
      proxy.corruptUploads = false;
      await s.putFile('penguins/v3/model.onnx', src);
      proxy.corruptDownloads = true;
      await expect(s.localFile('penguins/v3/model.onnx')).rejects.toMatchObject({
        kind: 'corrupted',
        message: expect.stringMatching(/^download of s3:\/\/cd4ml-store-test\/releases\/penguins\/v3\/model.onnx is damaged: sha256 [0-9a-f]{64}, uploaded as [0-9a-f]{64}; try again$/),
      });
      proxy.corruptDownloads = false;
      expect(sha256(await readFile(await s.localFile('penguins/v3/model.onnx')))).toBe(sha256(big));
    } finally {
      await proxy.stop();
    }
  });

  it('names the bucket and what to do when it does not exist', async () => {
    const s = new S3Store('s3://no-such-bucket/releases', { client });
    const expected = 'S3 bucket "no-such-bucket" does not exist (read s3://no-such-bucket/releases/penguins/latest.json). ' +
      'Create it (aws s3 mb s3://no-such-bucket) or fix the store url.';
    await expect(s.getText('penguins/latest.json')).rejects.toMatchObject({ kind: 'missing-bucket', message: expected });
    await expect(s.putText('penguins/latest.json', '{}')).rejects.toMatchObject({
      kind: 'missing-bucket', message: expect.stringMatching(/^S3 bucket "no-such-bucket" does not exist \(upload to s3:\/\/no-such-bucket\/releases\/penguins\/latest.json\)/),
    });
    expect(() => openStore('s3://UPPER/x')).toThrow('"UPPER" in s3://UPPER/x is not an S3 bucket name');
  });

  it('gives up on an endpoint that accepts connections but never answers, at the call deadline', async () => {
    const sockets: Socket[] = [];
    const hung = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
      const s = new S3Store(`s3://${BUCKET}/releases`, {
        client: createS3Client(moto.clientConfig(endpoint)), timeouts: { callMs: 2000, transferBaseMs: 1000 }, // an upload of a few bytes: 1 s + 1 s per started MiB
      });
      for (const [what, op] of [['read', () => s.getText('penguins/latest.json')], ['upload to', () => s.putText('penguins/latest.json', '{}')]] as const) {
        const started = performance.now();
        await expect(op()).rejects.toMatchObject({
          kind: 'timeout',
          message: `S3 ${what} s3://${BUCKET}/releases/penguins/latest.json timed out (limit 2 s): check the network and the endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL).`,
        });
        expect(performance.now() - started).toBeLessThan(4000);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  it('takes the endpoint, region and credentials from the environment, as the SDK does', async () => {
    for (const [name, value] of Object.entries(moto.env())) vi.stubEnv(name, value);
    try {
      const s = openStore(`s3://${BUCKET}/from-env`); // no client given: the SDK's default chain
      await s.putText('penguins/latest.json', '{"tag":"env"}');
      expect(await keysUnder('from-env/')).toEqual(['from-env/penguins/latest.json']);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
