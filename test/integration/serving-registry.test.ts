import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createModelRegistry, InferenceError, ReleaseRefusedError, type InferResult, type ModelRegistry,
} from '../../serving/src/index.ts';
import type { ModelRegistryOptions } from '../../serving/src/model/registry.ts';
import { compareOutputs, fromJsonTensor } from '@cd4ml/onnx';
import { WorkerPool } from '../../serving/src/model/pool.ts';
import {
  PROJECT, TestStore, brokenModel, gateFixture, goodModel, manifestFor, requestRows, smoke,
} from '../fixtures/serving/store.ts';

// Real onnxruntime in worker threads, real release folders in a temp store,
// built from the gate fixtures (good.onnx, broken.onnx, smoke.json).

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const corrupted = (): Buffer => {
  const b = Buffer.from(goodModel());
  for (let i = 100; i < 110; i++) b[i] = b[i]! ^ 0xff;
  return b;
};

/** Smoke row i (0..4) as a one-row request, and its expected label. */
const smokeRow = (i: number): { input: ReturnType<typeof requestRows>; label: bigint } => {
  const s = smoke();
  const data = Float32Array.from((s.inputs[0]!.data as number[]).slice(i * 4, i * 4 + 4));
  return { input: { name: 'input', datatype: 'FP32', shape: [1, 4], data }, label: BigInt(s.expectedOutputs[0]!.data[i] as number) };
};

let store: TestStore;
let registries: ModelRegistry[] = [];

async function open(opts: Partial<ModelRegistryOptions> = {}): Promise<ModelRegistry> {
  const r = await createModelRegistry({ store: store.dir, project: PROJECT, pollIntervalMs: 50, logger: quiet, ...opts });
  registries.push(r);
  return r;
}

beforeEach(() => {
  store = new TestStore();
});

afterEach(async () => {
  await Promise.all(registries.map((r) => r.close()));
  registries = [];
  store.remove();
});

describe('serving registry', () => {
  it('serves a good release and its outputs equal the smoke expectations', async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const reg = await open();
    expect(reg.ready()).toBe(true);
    expect(reg.current()?.version).toBe('v1');
    expect(reg.versions().map((v) => v.version)).toEqual(['v1']);
    expect(reg.refused()).toEqual([]);

    const s = smoke();
    const res = await reg.infer({ inputs: s.inputs.map(fromJsonTensor) });
    expect(res.model.version).toBe('v1');
    expect(res.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    expect(res.outputs[0]!.data).toBeInstanceOf(BigInt64Array);
    expect(compareOutputs(res.outputs, s.expectedOutputs, s.tolerance)).toMatchObject({ passed: true });
    expect(res.batchSize).toBe(5);
    expect(res.queueMs).toBeGreaterThanOrEqual(0);

    // Only the requested output; the version asked for by name.
    const only = await reg.infer({ version: 'v1', inputs: s.inputs.map(fromJsonTensor), outputs: ['probabilities'] });
    expect(only.outputs.map((o) => o.name)).toEqual(['probabilities']);

    await expect(reg.infer({ version: 'v9', inputs: s.inputs.map(fromJsonTensor) }))
      .rejects.toMatchObject({ status: 404, message: 'model penguins version v9 not found; serving v1' });
    await expect(reg.infer({ inputs: [{ ...requestRows(1), data: Float32Array.from([1, NaN, 3, 4]) }] }))
      .rejects.toMatchObject({ status: 400, message: expect.stringMatching(/input "input": value at index 1 is NaN/) });
    // A bad request broke nothing.
    expect((await reg.infer({ inputs: [requestRows(2)] })).outputs[0]!.shape).toEqual([2]);
  });

  it('pinned to a tag, serves exactly that release and ignores latest.json', async () => {
    store.writeRelease('v1', goodModel());
    store.writeRelease('v2', goodModel());
    store.publish('v2');
    const reg = await open({ tag: 'v1' });
    expect(reg.current()?.version).toBe('v1');
    await sleep(200);
    expect(reg.versions().map((v) => v.version)).toEqual(['v1']);
  });

  it('refuses to start pinned to a release whose model.onnx is corrupted', async () => {
    store.writeRelease('v1', corrupted(), manifestFor('v1', goodModel()));
    const err = await open({ tag: 'v1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReleaseRefusedError);
    expect((err as ReleaseRefusedError).message).toMatch(/^release v1 refused: sha256 mismatch: model.onnx is [0-9a-f]{64}, the manifest says/);
  });

  it('never becomes ready on a corrupted latest release, and records why', async () => {
    store.writeRelease('v1', corrupted(), manifestFor('v1', goodModel()));
    store.publish('v1');
    const reg = await open();
    await sleep(200); // several polls: the refusal is recorded once, not retried
    expect(reg.ready()).toBe(false);
    expect(reg.current()).toBeNull();
    expect(reg.refused()).toEqual([{ version: 'v1', reason: expect.stringMatching(/^sha256 mismatch: /), at: expect.any(Number) }]);
    await expect(reg.infer({ inputs: [requestRows(1)] })).rejects.toMatchObject({ status: 503 });
  });

  it('refuses a release whose model does not reproduce its smoke outputs', async () => {
    // The manifest matches broken.onnx's bytes, but carries good.onnx's smoke expectations.
    store.writeRelease('v1', brokenModel());
    store.publish('v1');
    const reg = await open();
    expect(reg.ready()).toBe(false);
    expect(reg.refused()).toHaveLength(1);
    expect(reg.refused()[0]!.reason).toMatch(/^smoke test failed: probabilities max \|diff\| .* > tolerance 1.0e-4/);

    const pinned = await open({ tag: 'v1' }).catch((e: unknown) => e);
    expect(pinned).toBeInstanceOf(ReleaseRefusedError);
  });

  it('swaps to a new release under load without failing a request, and keeps serving when the next is refused', async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const reg = await open();
    expect(reg.current()?.version).toBe('v1');

    const failures: unknown[] = [];
    const seen: string[][] = Array.from({ length: 8 }, () => []);
    let wrong = 0;
    let stop = false;
    const clients = seen.map(async (log, c) => {
      let i = c;
      while (!stop) {
        const { input, label } = smokeRow(i++ % 5);
        try {
          const res = await reg.infer({ inputs: [input] });
          if ((res.outputs[0]!.data as BigInt64Array)[0] !== label) wrong++;
          if (log[log.length - 1] !== res.model.version) log.push(res.model.version);
        } catch (err) {
          failures.push(err);
        }
      }
    });
    await sleep(500);
    store.writeRelease('v2', goodModel());
    store.publish('v2');
    await sleep(1500);
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(wrong).toBe(0);
    // Every client went v1 -> v2 once and never back.
    for (const log of seen) expect(log).toEqual(['v1', 'v2']);
    expect(reg.current()?.version).toBe('v2');
    expect((await reg.infer({ inputs: [requestRows(1)] })).model.version).toBe('v2');
    await until(() => reg.versions().length === 1);
    expect(reg.versions().map((v) => v.version)).toEqual(['v2']);
    await expect(reg.infer({ version: 'v1', inputs: [requestRows(1)] }))
      .rejects.toMatchObject({ status: 404, message: 'model penguins version v1 not found; serving v2' });

    // A refused release leaves v2 serving.
    store.writeRelease('v3', corrupted(), manifestFor('v3', goodModel()));
    store.publish('v3');
    await until(() => reg.refused().length > 0);
    expect(reg.refused()[0]).toMatchObject({ version: 'v3', reason: expect.stringMatching(/^sha256 mismatch/) });
    expect(reg.ready()).toBe(true);
    expect(reg.current()?.version).toBe('v2');
    expect((await reg.infer({ inputs: [requestRows(1)] })).model.version).toBe('v2');

    // Fixing the files of the refused tag lets it load after all.
    store.writeRelease('v3', goodModel());
    await until(() => reg.current()?.version === 'v3');
  });

  it('batches concurrent small requests and splits the answers back correctly', async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const reg = await open({ maxBatchSize: 16, maxBatchDelayMs: 5 });
    const rows = Array.from({ length: 64 }, (_, i) => smokeRow(i % 5));
    const results = await Promise.all(rows.map((r) => reg.infer({ inputs: [r.input] })));
    results.forEach((res, i) => {
      expect(res.outputs[0]!.shape).toEqual([1]);
      expect(res.outputs[1]!.shape).toEqual([1, 3]);
      expect((res.outputs[0]!.data as BigInt64Array)[0]).toBe(rows[i]!.label);
    });
    const sizes = results.map((r) => r.batchSize);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
  });

  it('close() lets requests in flight finish, then refuses new ones', async () => {
    store.writeRelease('v1', goodModel());
    store.publish('v1');
    const reg = await open();
    const inflight = Array.from({ length: 20 }, (_, i) => reg.infer({ inputs: [requestRows(1 + (i % 3) * 500)] }));
    const closed = reg.close();
    expect(reg.ready()).toBe(false);
    const results: InferResult[] = await Promise.all(inflight);
    expect(results.every((r) => r.model.version === 'v1')).toBe(true);
    await closed;
    expect(reg.versions()).toEqual([]);
    const after = await reg.infer({ inputs: [requestRows(1)] }).catch((e: unknown) => e);
    expect(after).toBeInstanceOf(InferenceError);
    expect((after as InferenceError).status).toBe(503);
  });

  it('a worker that dies fails its requests with 503 and is replaced', async () => {
    const pool = await WorkerPool.start({
      modelPath: gateFixture('good.onnx'), workers: 1, threads: 1, maxBatchSize: 32, maxBatchDelayMs: 0, logger: quiet, label: 'penguins@test',
    });
    pool.batching = true;
    try {
      // The worker exits before it reads the run: the request must fail, not hang.
      pool.crashWorkerForTest(0);
      const big = pool.submit({ inputs: [requestRows(1000)], outputs: undefined, rows: 1000 });
      await expect(big).rejects.toMatchObject({ status: 503, message: expect.stringMatching(/inference worker exited/) });
      const next = await pool.submit({ inputs: [requestRows(3)], outputs: ['label'], rows: 3 });
      expect(next.outputs.map((o) => o.name)).toEqual(['label']);
      expect(next.outputs[0]!.shape).toEqual([3]);
    } finally {
      await pool.close();
    }
  });
});
