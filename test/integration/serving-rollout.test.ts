import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RolloutConfig, type ServingState } from '@cd4ml/contracts';
import { fromJsonTensor, runModelOnce, toJsonTensor } from '@cd4ml/onnx';
import { DirectoryStore } from '@cd4ml/stores';
import { startServing, type Serving } from '../../serving/src/serve.ts';
import { releaseProgram } from '../../client/src/commands/release.ts';
import { promote } from '../../serving/src/channels/state.ts';
import { readServingState, updateServingState } from '../../serving/src/channels/store.ts';
import { waitUntil } from '../harness/training-probes.ts';
import {
  PROJECT, TestStore, brokenModel, gateFixture, goodModel, manifestFor, smoke, type SmokeSet,
} from '../fixtures/serving/store.ts';

// Rollouts on a real server (fastify, onnxruntime worker threads) over a folder
// store: serving.json is changed the way `cd4ml release promote` changes it, and
// the split is measured from the responses' model_version.

const servingFixture = (name: string): string => new URL(`../fixtures/serving/${name}`, import.meta.url).pathname;

let store: TestStore;
let serving: Serving;
/** 200 responses by the release that answered, this test. */
const answered = new Map<string, number>();

const rollout = (o: Partial<RolloutConfig>): RolloutConfig =>
  RolloutConfig.parse({ steps: [20, 50, 100], stepTime: '1500ms', minRequests: 30, maxP99Ms: 5000, maxErrorRate: 0.01, maxOutputShift: 0.1, ...o });

/** One smoke row as a request (cycling through the 5, so the output has every class). */
const rowRequest = (i: number, id: string) => {
  const s = smoke().inputs[0]!;
  const r = i % 5;
  return { id, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: (s.data as number[]).slice(r * 4, r * 4 + 4) }] };
};

async function infer(i: number, id = randomUUID()): Promise<{ status: number; version: string; id: string }> {
  const res = await fetch(`${serving.url}/v2/models/${PROJECT}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rowRequest(i, id)),
  });
  const body = (await res.json()) as { model_version: string };
  if (res.status === 200) answered.set(body.model_version, (answered.get(body.model_version) ?? 0) + 1);
  return { status: res.status, version: body.model_version, id };
}

const dirStore = (): DirectoryStore => new DirectoryStore(store.dir);
const state = async (): Promise<ServingState> => (await readServingState(dirStore(), PROJECT)).state;

/** The smoke set of a model, from its own outputs (a release of a different model must pass its own smoke test). */
async function smokeOf(file: string): Promise<SmokeSet> {
  const s = smoke();
  const { results } = await runModelOnce(file.includes('/') ? file : gateFixture(file), [s.inputs.map(fromJsonTensor)]);
  return { ...s, expectedOutputs: results[0]!.map(toJsonTensor) };
}

beforeEach(async () => {
  answered.clear();
  store = new TestStore();
  store.writeRelease('v1', goodModel());
  store.publish('v1');
  serving = await startServing({
    store: store.dir, project: PROJECT, port: 0, handleSignals: false, logLevel: 'silent',
    registryOptions: { pollIntervalMs: 100, workers: 1 },
  });
});

afterEach(async () => {
  await serving?.shutdown();
  store.remove();
});

/** Sends batches of 20 until serving.json has no candidate; responses per share, counted only for batches the replica's share did not change under. */
async function driveUntilDecided(limit = 20_000): Promise<{ failures: number[]; byShare: Map<number, { n: number; candidate: number }> }> {
  const failures: number[] = [];
  const byShare = new Map<number, { n: number; candidate: number }>();
  const candidateTag = (await state()).candidate?.tag;
  let i = 0;
  while ((await state()).candidate !== null) {
    const before = serving.registry.rollout?.();
    const batch = await Promise.all(Array.from({ length: 20 }, () => infer(i++)));
    const after = serving.registry.rollout?.();
    for (const r of batch) if (r.status !== 200) failures.push(r.status);
    if (before?.loaded && after?.loaded && before.share === after.share && before.step === after.step) {
      const c = byShare.get(before.share) ?? { n: 0, candidate: 0 };
      c.n += batch.length;
      c.candidate += batch.filter((r) => r.version === candidateTag).length;
      byShare.set(before.share, c);
    }
    if (i > limit) throw new Error(`no decision after ${limit} requests: ${JSON.stringify(serving.registry.rollout?.())}`);
  }
  return { failures, byShare };
}

describe('canary rollouts', () => {
  it('a canary that passes every step reaches 100%; the split measured from responses matches each step\'s share', async () => {
    store.writeRelease('v2', goodModel());
    // minRequests holds each step until enough answers are in to measure its share.
    await updateServingState(dirStore(), PROJECT, (s) => promote(s, 'v2', rollout({ steps: [20, 50, 100], stepTime: '300ms', minRequests: 400 }), 'test'));
    await waitUntil('candidate loaded', async () => serving.registry.rollout?.()?.loaded, 30_000);
    const during = await (await fetch(`${serving.url}/metrics`)).text();
    expect(during).toContain('cd4ml_release_info{model="penguins",version="v1",role="live"} 1');
    expect(during).toContain('cd4ml_release_info{model="penguins",version="v2",role="candidate"} 1');
    const { failures, byShare } = await driveUntilDecided();
    expect(failures).toEqual([]);
    // Each release's answers are counted under its own version label.
    const text = await (await fetch(`${serving.url}/metrics`)).text();
    for (const v of ['v1', 'v2']) {
      expect(text).toContain(`nv_inference_request_success{model="penguins",version="${v}"} ${answered.get(v)}\n`);
    }
    const s = await state();
    expect(s).toMatchObject({ live: 'v2', previous: ['v1'], candidate: null });
    expect(s.history.map((d) => d.action)).toEqual(['start', 'advance', 'advance', 'complete']);
    expect(s.history.at(-1)).toMatchObject({ tag: 'v2', from: 'v1', reason: 'passed every step' });
    for (const share of [0.2, 0.5]) {
      const c = byShare.get(share)!;
      console.log(`canary step ${share * 100}%: ${c.candidate} of ${c.n} responses from the candidate (${((c.candidate / c.n) * 100).toFixed(1)}%)`);
      expect(c.n).toBeGreaterThanOrEqual(400);
      expect(Math.abs(c.candidate / c.n - share)).toBeLessThan(0.06);
    }
    const full = byShare.get(1);
    if (full) expect(full.candidate).toBe(full.n); // at 100% every answer is the candidate's
    await waitUntil('v2 live on the replica', async () => serving.registry.current()?.version === 'v2' && !serving.registry.rollout?.(), 5000);
    for (let k = 0; k < 10; k++) expect((await infer(k)).version).toBe('v2');
  });

  it('a canary whose model fails requests rolls back by itself; every request is answered, by live', async () => {
    const faulty = readFileSync(servingFixture('faulty.onnx'));
    store.writeRelease('v2', faulty, manifestFor('v2', faulty, await smokeOf(servingFixture('faulty.onnx'))));
    await updateServingState(dirStore(), PROJECT, (s) => promote(s, 'v2', rollout({ steps: [50, 100], stepTime: '1h' }), 'test'));
    await waitUntil('candidate loaded', async () => serving.registry.rollout?.()?.loaded, 30_000);
    const { failures, byShare } = await driveUntilDecided();
    expect(failures).toEqual([]);
    expect(byShare.get(0.5)?.candidate ?? 0).toBe(0); // the candidate's failures were answered by live
    const s = await state();
    expect(s.live).toBe('v1');
    const last = s.history.at(-1)!;
    expect(last).toMatchObject({ action: 'rollback', tag: 'v2' });
    expect(last.reason).toMatch(/^error rate 1\.000 > maxErrorRate 0.01 over \d+ requests \(live 0\.000\)/);
    const metrics = await (await fetch(`${serving.url}/metrics`)).text();
    expect(metrics).not.toMatch(/nv_inference_request_failure\{model="penguins",version="v1"/);
  });

  it('a canary whose output distribution shifts rolls back by itself, with no failed request', async () => {
    const weak = (await import('node:fs')).readFileSync(gateFixture('weak.onnx'));
    store.writeRelease('v2', weak, manifestFor('v2', weak, await smokeOf('weak.onnx')));
    await updateServingState(dirStore(), PROJECT, (s) => promote(s, 'v2', rollout({ steps: [50, 100], stepTime: '1h' }), 'test'));
    await waitUntil('candidate loaded', async () => serving.registry.rollout?.()?.loaded, 30_000);
    const meta = (await (await fetch(`${serving.url}/v2/models/${PROJECT}`)).json()) as { cd4ml: { live: string; candidate: string; rollout: { share: number } } };
    expect(meta.cd4ml).toMatchObject({ live: 'v1', candidate: 'v2', rollout: { share: 0.5 } });
    expect(await (await fetch(`${serving.url}/metrics`)).text()).toMatch(/cd4ml_rollout_share\{model="penguins",version="v2",mode="canary"\} 0.5/);
    // `cd4ml release status --url` asks the replica for the running step's figures.
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...m: unknown[]) => void lines.push(m.join(' ')));
    try {
      await releaseProgram().parseAsync(['release', 'status', '--store', store.dir, '--project', PROJECT, '--url', serving.url], { from: 'user' });
    } finally {
      log.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/rollout: v2 canary step 1 of 2 \(50% -> 100%\)[\s\S]*figures this step \(from the replica\):\n  requests  0 \(judged from 30/);
    const failures: number[] = [];
    let i = 0;
    while ((await state()).candidate !== null) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => infer(i++)));
      for (const r of batch) if (r.status !== 200) failures.push(r.status);
      if (i > 5000) throw new Error('no rollback');
    }
    expect(failures).toEqual([]);
    const s = await state();
    expect(s.live).toBe('v1');
    const last = s.history.at(-1)!;
    expect(last).toMatchObject({ action: 'rollback', tag: 'v2' });
    expect(last.reason).toMatch(/output shift 0\.\d+ > maxOutputShift 0.1/);
    expect(last.figures!.outputShift).toBeGreaterThan(0.1);
    await waitUntil('candidate dropped', async () => serving.registry.rollout?.() == null, 5000);
    for (let k = 0; k < 20; k++) expect((await infer(k)).version).toBe('v1');
  });

  it('a candidate that fails its smoke test at load is refused: the rollout ends, live untouched', async () => {
    store.writeRelease('v2', brokenModel(), manifestFor('v2', brokenModel())); // good.onnx's smoke expectations
    await updateServingState(dirStore(), PROJECT, (s) => promote(s, 'v2', rollout({}), 'test'));
    const s = await waitUntil('refused', async () => {
      const st = await state();
      return st.candidate === null ? st : null;
    }, 30_000);
    expect(s.history.at(-1)).toMatchObject({ action: 'refused', tag: 'v2' });
    expect(s.history.at(-1)!.reason).toMatch(/refused at load, live untouched: smoke test failed/);
    expect(s.live).toBe('v1');
    expect((await infer(0)).version).toBe('v1');
  });
});

describe('shadow rollouts', () => {
  it('answers always come from live; the candidate\'s agreement is recorded and promotion waits for it', async () => {
    store.writeRelease('v2', goodModel());
    await updateServingState(dirStore(), PROJECT, (s) => promote(s, 'v2', rollout({ mode: 'shadow', stepTime: '1500ms', minAgreement: 0.99 }), 'test'));
    await waitUntil('candidate loaded', async () => serving.registry.rollout?.()?.loaded, 30_000);
    const versions = new Set<string>();
    let i = 0;
    while ((await state()).candidate !== null) {
      for (const r of await Promise.all(Array.from({ length: 20 }, () => infer(i++)))) {
        expect(r.status).toBe(200);
        if ((await state()).candidate !== null) versions.add(r.version);
      }
      if (i > 5000) throw new Error('shadow never decided');
    }
    expect([...versions]).toEqual(['v1']);
    const s = await state();
    expect(s.live).toBe('v2');
    const last = s.history.at(-1)!;
    expect(last).toMatchObject({ action: 'complete', tag: 'v2', from: 'v1' });
    expect(last.figures!.agreement).toBe(1);
    expect(last.figures!.requests).toBeGreaterThanOrEqual(30);
  });
});
