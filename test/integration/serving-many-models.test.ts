import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RolloutConfig, type ReleaseManifest } from '@cd4ml/contracts';
import { fromJsonTensor, runModelOnce, toJsonTensor } from '@cd4ml/onnx';
import { DirectoryStore } from '@cd4ml/stores';
import { startServing, type Serving } from '../../serving/src/serve.ts';
import { promote } from '../../serving/src/channels/state.ts';
import { updateServingState } from '../../serving/src/channels/store.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { PROJECT, TestStore, gateFixture, goodModel, manifestFor, smoke } from '../fixtures/serving/store.ts';

// One `cd4ml serve` for two projects (a real server, onnxruntime workers, a
// folder store): each has its own releases, pool, rollout and routes.

const MASS = 'penguins-mass'; // weak.onnx: the same signature, other answers
let store: TestStore;
let serving: Serving;
let massSmoke: ReturnType<typeof smoke>;

/** Writes <store>/<project>/<tag> for any project (the fixture writes penguins only). */
function writeRelease(project: string, tag: string, model: Buffer, manifest: ReleaseManifest): void {
  const dir = join(store.dir, project, tag);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), model);
  writeFileSync(join(dir, 'release.json'), JSON.stringify({ ...manifest, project }));
}

async function infer(name: string, url = serving.url): Promise<{ status: number; body: { model_name: string; model_version: string; outputs: { name: string; data: number[] }[]; error?: string } }> {
  const res = await fetch(`${url}/v2/models/${name}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [smoke().inputs[0]] }),
  });
  return { status: res.status, body: (await res.json()) as never };
}

const labels = (o: { name: string; data: unknown[] }[]): unknown[] => o.find((t) => t.name === 'label')!.data;

beforeAll(async () => {
  store = new TestStore();
  store.writeRelease('v1', goodModel());
  store.writeRelease('v2', goodModel());
  store.publish('v1');
  const weak = readFileSync(gateFixture('weak.onnx'));
  const { results } = await runModelOnce(gateFixture('weak.onnx'), [smoke().inputs.map(fromJsonTensor)]);
  massSmoke = { ...smoke(), expectedOutputs: results[0]!.map(toJsonTensor) };
  for (const tag of ['m1', 'm2']) writeRelease(MASS, tag, weak, manifestFor(tag, weak, massSmoke));
  writeFileSync(join(store.dir, MASS, 'latest.json'), JSON.stringify({ tag: 'm1' }));
  serving = await startServing({
    store: store.dir, project: [PROJECT, MASS], port: 0, handleSignals: false, logLevel: 'silent',
    registryOptions: { pollIntervalMs: 100, workers: 1 },
  });
});
afterAll(async () => {
  await serving?.shutdown();
  store?.remove();
});

describe('one server, two projects', () => {
  it('serves each project under its own name, from its own release', async () => {
    expect((await fetch(`${serving.url}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${serving.url}/v1/models`)).json()).toEqual({ models: [PROJECT, MASS] });
    const [a, b] = [await infer(PROJECT), await infer(MASS)];
    expect(a).toMatchObject({ status: 200, body: { model_name: PROJECT, model_version: 'v1' } });
    expect(b).toMatchObject({ status: 200, body: { model_name: MASS, model_version: 'm1' } });
    expect(labels(a.body.outputs)).toEqual(labels(smoke().expectedOutputs as never));
    expect(labels(b.body.outputs)).toEqual(labels(massSmoke.expectedOutputs as never));
    expect(labels(a.body.outputs)).not.toEqual(labels(b.body.outputs)); // two models, not one answering twice
    const meta = (await (await fetch(`${serving.url}/v2/models/${MASS}`)).json()) as { name: string; versions: string[]; cd4ml: { live: string } };
    expect(meta).toMatchObject({ name: MASS, versions: ['m1'], cd4ml: { live: 'm1' } });
    const unknown = await infer('penguins-typo');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe(`unknown model "penguins-typo": this server serves "${PROJECT}", "${MASS}"`);
  });

  it('releases and rollouts are per project: a canary on one leaves the other alone', async () => {
    const dir = new DirectoryStore(store.dir);
    const canary = RolloutConfig.parse({ steps: [50, 100], stepTime: '1h' });
    await updateServingState(dir, MASS, (s) => promote(s, 'm2', canary, 'test'));
    await updateServingState(dir, PROJECT, (s) => promote(s, 'v2', null, 'test'));
    await waitUntil('both changes followed', async () =>
      serving.models.get(MASS).rollout?.()?.loaded === true && serving.models.get(PROJECT).current()?.version === 'v2', 30_000);
    expect(serving.models.get(PROJECT).rollout?.()).toBeNull();
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add((await infer(MASS)).body.model_version);
    expect([...seen].sort()).toEqual(['m1', 'm2']); // ids are random: both halves of the split answer
    for (let i = 0; i < 10; i++) expect((await infer(PROJECT)).body.model_version).toBe('v2');
    const metrics = await (await fetch(`${serving.url}/metrics`)).text();
    expect(metrics).toContain(`cd4ml_rollout_share{model="${MASS}",version="m2",mode="canary"} 0.5`);
    expect(metrics).not.toMatch(new RegExp(`cd4ml_rollout_share\\{model="${PROJECT}"`));
    expect(metrics).toContain(`cd4ml_model_version_info{model="${PROJECT}",version="v2"} 1`);
    expect(metrics).toContain(`cd4ml_model_version_info{model="${MASS}",version="m1"} 1`);
    expect(metrics).toMatch(new RegExp(`nv_inference_request_success\\{model="${MASS}",version="m2"\\} \\d+`));
  });
});

describe('serve with no --project', () => {
  it('serves every project folder in the store', async () => {
    const all = await startServing({ store: store.dir, port: 0, handleSignals: false, logLevel: 'silent', registryOptions: { pollIntervalMs: 100, workers: 1 } });
    try {
      expect(await (await fetch(`${all.url}/v1/models`)).json()).toEqual({ models: [PROJECT, MASS].sort() });
      const b = await infer(MASS, all.url);
      expect(b).toMatchObject({ status: 200, body: { model_name: MASS } });
    } finally {
      await all.shutdown();
    }
  });

  it('refuses a store with no projects, naming it and what to do', async () => {
    const empty = new TestStore();
    try {
      await expect(startServing({ store: empty.dir, port: 0, handleSignals: false, logLevel: 'silent' }))
        .rejects.toThrow(`serve: the store ${empty.dir} has no project folders`);
    } finally {
      empty.remove();
    }
  });
});
