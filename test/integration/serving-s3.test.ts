import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client, S3Store } from '@cd4ml/stores';
import { createModelRegistry, ReleaseRefusedError, type ModelRegistry } from '../../serving/src/index.ts';
import { compareOutputs, fromJsonTensor } from '@cd4ml/onnx';
import { Moto } from '../harness/moto.ts';
import { freePort } from '../harness/free-port.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { goodModel, manifestFor, publishTo, smoke, writeReleaseTo } from '../fixtures/serving/store.ts';

// Serving from an S3 store on a real moto_server: releases are read with the
// store's GETs, the model is downloaded to a local cache and hashed there
// against the manifest before it serves, and latest.json is polled.

const BUCKET = 'cd4ml-serving-test';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

const corrupted = (): Buffer => {
  const b = Buffer.from(goodModel());
  for (let i = 100; i < 110; i++) b[i] = b[i]! ^ 0xff;
  return b;
};

describe('serving from an S3 release store (moto)', () => {
  let moto: Moto;
  let dir: string;

  beforeAll(async () => {
    moto = await Moto.start();
    await createS3Client(moto.clientConfig()).send(new CreateBucketCommand({ Bucket: BUCKET }));
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-serving-s3-'));
  });
  afterAll(async () => {
    await moto?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registry: serves latest.json\'s release, follows a new one, refuses a corrupted one and retries it once rewritten', async () => {
    const cacheDir = path.join(dir, 'registry-cache');
    const store = new S3Store(`s3://${BUCKET}/registry`, { client: createS3Client(moto.clientConfig()), cacheDir });
    await writeReleaseTo(store, 'v1', goodModel());
    await publishTo(store, 'v1');
    const registries: ModelRegistry[] = [];
    try {
      const reg = await createModelRegistry({ store, project: 'penguins', pollIntervalMs: 50, logger: quiet });
      registries.push(reg);
      expect(reg.current()?.version).toBe('v1');
      const s = smoke();
      const res = await reg.infer({ inputs: s.inputs.map(fromJsonTensor) });
      expect(compareOutputs(res.outputs, s.expectedOutputs, s.tolerance)).toMatchObject({ passed: true });

      await writeReleaseTo(store, 'v2', goodModel());
      await publishTo(store, 'v2');
      await waitUntil('v2 served', async () => reg.current()?.version === 'v2', 20_000);

      await writeReleaseTo(store, 'v3', corrupted(), manifestFor('v3', goodModel()));
      await publishTo(store, 'v3');
      await waitUntil('v3 refused', async () => reg.refused().length > 0, 20_000);
      expect(reg.refused()[0]).toMatchObject({ version: 'v3', reason: expect.stringMatching(/^sha256 mismatch: model.onnx is [0-9a-f]{64}, the manifest says/) });
      expect(reg.current()?.version).toBe('v2');

      await writeReleaseTo(store, 'v3', goodModel()); // a new ETag: the refused tag is looked at again
      await waitUntil('v3 served once fixed', async () => reg.current()?.version === 'v3', 20_000);

      // Pinned to a tag, from S3 too; a corrupted one refuses to start.
      const pinned = await createModelRegistry({ store, project: 'penguins', tag: 'v1', logger: quiet });
      registries.push(pinned);
      expect(pinned.current()?.version).toBe('v1');
      await writeReleaseTo(store, 'v4', corrupted(), manifestFor('v4', goodModel()));
      await expect(createModelRegistry({ store, project: 'penguins', tag: 'v4', logger: quiet })).rejects.toBeInstanceOf(ReleaseRefusedError);
    } finally {
      await Promise.all(registries.map((r) => r.close()));
    }
  });

  it('`cd4ml serve --store s3://...`: serves, follows a new release, drains on SIGTERM', async () => {
    const store = new S3Store(`s3://${BUCKET}/team/releases`, { client: createS3Client(moto.clientConfig()) });
    await writeReleaseTo(store, 'v1', goodModel());
    await publishTo(store, 'v1');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const cache = path.join(dir, 'serve-cache');
    let output = '';
    const server: ChildProcess = spawn(process.execPath, [
      '--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', `s3://${BUCKET}/team/releases`, '--project', 'penguins',
      '--port', String(port), '--cache', cache,
    ], { cwd: REPO_ROOT, env: { ...process.env, ...moto.env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (output += d));
    server.stderr!.on('data', (d: Buffer) => (output += d));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      await waitUntil('ready', async () => (await fetch(`${base}/v2/health/ready`)).ok, 60_000, async () => output.slice(-2000));
      const infer = async () => {
        const res = await fetch(`${base}/v2/models/penguins/infer`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [smoke().inputs[0]] }),
        });
        return (await res.json()) as { model_version: string; outputs: { name: string; data: number[] }[] };
      };
      const first = await infer();
      expect(first.model_version).toBe('v1');
      expect(first.outputs.find((o) => o.name === 'label')!.data).toEqual(smoke().expectedOutputs.find((o) => o.name === 'label')!.data);
      expect(output).not.toContain(moto.env().AWS_SECRET_ACCESS_KEY);

      await writeReleaseTo(store, 'v2', goodModel());
      await publishTo(store, 'v2');
      await waitUntil('v2 served', async () => (await infer()).model_version === 'v2', 30_000, async () => output.slice(-2000));
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
