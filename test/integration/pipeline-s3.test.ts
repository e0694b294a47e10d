import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ReleaseManifest } from '@cd4ml/contracts';
import { createS3Client, S3Store } from '@cd4ml/stores';
import { createModelRegistry } from '../../serving/src/index.ts';
import { compareOutputs, fromJsonTensor } from '@cd4ml/onnx';
import { Moto } from '../harness/moto.ts';
import { Stack } from '../harness/stack.ts';

// The whole pipeline with S3 everywhere: the release store and the DVC
// remote are buckets on a real moto_server, the workers are their own
// processes with the AWS settings in their environment only.

const RELEASES = 'cd4ml-releases';
const DVC = 'cd4ml-dvc';
const STORE_URL = `s3://${RELEASES}/team`;

describe('trainModel with the release store and the DVC remote on S3 (moto)', () => {
  let moto: Moto;
  let stack: Stack;
  let client: S3Client;
  let store: S3Store;
  const keysUnder = async (bucket: string, prefix: string): Promise<string[]> => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  };

  beforeAll(async () => {
    moto = await Moto.start();
    client = createS3Client(moto.clientConfig());
    for (const Bucket of [RELEASES, DVC]) await client.send(new CreateBucketCommand({ Bucket }));
    store = new S3Store(STORE_URL, { client });
    stack = await Stack.start({
      store: STORE_URL,
      example: { dvcRemote: { url: `s3://${DVC}/penguins`, endpointUrl: moto.endpoint }, env: moto.env() },
    });
    await stack.example.create(); // dvc push of the raw data into the bucket
    await stack.spawnWorker('control', 'local', moto.env());
    await stack.spawnWorker('location', 'local', moto.env());
  });
  afterAll(async () => {
    await stack?.stop();
    await moto?.stop();
  });

  it('releases into S3: manifest, model with its sha256, report, latest.json; DVC pulled from and pushed to S3', async () => {
    const dvcBefore = await keysUnder(DVC, 'penguins/');
    expect(dvcBefore.length).toBeGreaterThan(0);
    expect(await readFile(`${stack.example.workDir}/.dvc/config`, 'utf8')).toContain(`endpointurl = ${moto.endpoint}`);

    const result = await stack.train({ releaseTag: 'v1.0' });
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.release).toMatchObject({ store: STORE_URL, key: 'penguins/v1.0' });
    expect(Object.keys(result.durations)).toEqual(expect.arrayContaining(['dvc-pull', 'dvc-repro', 'evaluate', 'publish']));
    console.log(`S3 training v1.0 stages (s): ${JSON.stringify(result.durations)}`);

    const manifest = ReleaseManifest.parse(JSON.parse((await store.getText('penguins/v1.0/release.json'))!));
    const model = await readFile(await store.localFile('penguins/v1.0/model.onnx'));
    expect(manifest.model.sha256).toBe(createHash('sha256').update(model).digest('hex'));
    expect(manifest.model.bytes).toBe(model.length);
    expect(manifest.git.commit).toBe(result.commit);
    expect(JSON.parse((await store.getText('penguins/latest.json'))!)).toEqual({ tag: 'v1.0' });
    expect(await store.getText('penguins/v1.0/report.md')).toContain('## Checks');
    const keys = await keysUnder(RELEASES, 'team/');
    expect(keys.filter((k) => !k.startsWith('team/.runs/'))).toEqual([
      'team/penguins/latest.json', 'team/penguins/v1.0/model.onnx', 'team/penguins/v1.0/plots/confusion-matrix.svg', 'team/penguins/v1.0/release.json', 'team/penguins/v1.0/report.md',
    ]); // the staged candidate is gone
    // Beside the releases, in a dot-folder no project can be named: dvc repro's output for `cd4ml logs`.
    expect(keys.filter((k) => k.startsWith('team/.runs/'))).toEqual([expect.stringMatching(/^team\/\.runs\/train\/penguins\/v1\.0\/[0-9a-f-]+\/logs\/dvc-repro\.log$/)]);
    // The location's fresh checkout pulled the raw data from S3; accepting pushed the pipeline's outputs there.
    expect((await keysUnder(DVC, 'penguins/')).length).toBeGreaterThan(dvcBefore.length);
    expect(await stack.example.tags()).toEqual(['v1.0']);

    // What was released serves.
    const reg = await createModelRegistry({ store, project: 'penguins', logger: { info() {}, warn() {}, error() {} } });
    try {
      expect(reg.current()?.version).toBe('v1.0');
      const res = await reg.infer({ inputs: manifest.smoke.inputs.map(fromJsonTensor) });
      expect(compareOutputs(res.outputs, manifest.smoke.expectedOutputs, manifest.smoke.tolerance)).toMatchObject({ passed: true });
    } finally {
      await reg.close();
    }
  });

  it('gates a retraining on new data against the release read back from S3', async () => {
    await stack.example.appendDay(); // pushed to the S3 remote
    const result = await stack.train({ releaseTag: 'v1.1' });
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.baseline?.tag).toBe('v1.0');
    expect(JSON.parse((await store.getText('penguins/latest.json'))!)).toEqual({ tag: 'v1.1' });
    const manifest = ReleaseManifest.parse(JSON.parse((await store.getText('penguins/v1.1/release.json'))!));
    expect(manifest.baseline?.tag).toBe('v1.0');
  });
});
