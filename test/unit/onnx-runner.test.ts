import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HoldoutSet, SmokeSet, type Tensor } from '@cd4ml/contracts';
import { describeModel, fromJsonTensor, InputError, OnnxError, runModelOnce, toJsonTensor, type TypedTensor } from '@cd4ml/onnx';

// The one-shot runner on real ONNX models (test/fixtures/gate/make_models.py).
const FIXTURES = new URL('../fixtures/gate/', import.meta.url);
const fixture = (name: string): string => new URL(name, FIXTURES).pathname;
const json = (name: string): unknown => JSON.parse(readFileSync(fixture(name), 'utf8'));
const smoke = SmokeSet.parse(json('smoke.json'));
const holdout = HoldoutSet.parse(json('holdout.json'));
const GOOD = fixture('good.onnx');

/** `rows` rows of 4 features, typed. */
const features = (rows: number): TypedTensor => ({
  name: 'input', datatype: 'FP32', shape: [rows, 4], data: Float32Array.from({ length: rows * 4 }, (_, i) => [40, 17, 200, 4][i % 4]! + (i % 7)),
});

/**
 * These wait for a thread to load onnxruntime and finish a run after the cancel: seconds on a
 * busy CI machine (other test files run beside), more than vitest's default 5 s allows.
 */
const THREAD_WAIT_MS = 30_000;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runModelOnce', () => {
  it('describes the model from its metadata', async () => {
    expect(await describeModel(GOOD)).toEqual({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    });
  });

  // runner-outputs.json: what the gate's runner before @cd4ml/onnx (JSON in, JSON out) answered on the same batches.
  it.each(['good.onnx', 'broken.onnx'])('gives typed outputs equal to the old JSON outputs (%s)', async (model) => {
    const old = (json('runner-outputs.json') as Record<string, { smoke: Tensor[]; holdout: Tensor[] }>)[model]!;
    const { results } = await runModelOnce(fixture(model), [smoke.inputs.map(fromJsonTensor), holdout.inputs.map(fromJsonTensor)]);
    const [smokeOut, holdoutOut] = results as [TypedTensor[], TypedTensor[]];
    expect(holdoutOut.map((t) => t.data.constructor)).toEqual([BigInt64Array, Float32Array]);
    expect(smokeOut.map(toJsonTensor)).toEqual(old.smoke);
    expect(holdoutOut.map(toJsonTensor)).toEqual(old.holdout);
  });

  it('moves the input buffers to the thread, or copies them with keepInputs; ends its thread', async () => {
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const moved = features(10);
    const kept = features(10);
    const [a, b] = await Promise.all([runModelOnce(GOOD, [[moved]]), runModelOnce(GOOD, [[kept]], { keepInputs: true })]);
    expect(moved.data.length).toBe(0);
    expect(kept.data.length).toBe(40);
    expect(a.results).toEqual(b.results);
    expect(terminate).toHaveBeenCalledTimes(2);
  });

  it('names the input and the shape the model expects when inputs do not fit, before running', async () => {
    const wide: TypedTensor = { name: 'input', datatype: 'FP32', shape: [2, 5], data: new Float32Array(10) };
    const err = await runModelOnce(GOOD, [[features(1)], [wide]]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({
      phase: 'run',
      message: 'input "input": shape [2,5] does not fit the model\'s [-1,4] (dimension 1 is 5, must be 4; -1 is free)',
      model: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }] },
    });
    const renamed = await runModelOnce(GOOD, [[{ ...features(1), name: 'features' }]]).catch((e: unknown) => e);
    expect((renamed as Error).message).toBe('unknown input "features"; the model takes input FP32[-1,4]');
  });

  it('reports a model that fails to load with phase load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-'));
    writeFileSync(join(dir, 'model.onnx'), randomBytes(2048));
    for (const path of [join(dir, 'model.onnx'), join(dir, 'missing.onnx')]) {
      const err = await runModelOnce(path, [[features(1)]]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OnnxError);
      expect(err).toMatchObject({ phase: 'load', message: expect.stringMatching(/^onnxruntime could not load the model: .+/) });
    }
  });

  it('stops waiting on a cancel and ends the thread once onnxruntime returns (terminating inside a run would abort the process)', async () => {
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const controller = new AbortController();
    const big = features(4_000_000); // runs for about half a second
    const run = runModelOnce(GOOD, [[features(1)], [big]], { signal: controller.signal });
    // Cancel while the big batch runs: its buffer has moved to the thread, and it had time to start.
    await vi.waitFor(() => expect(big.data.length).toBe(0), { interval: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'OnnxError', phase: 'run', message: 'cancelled' });
    await vi.waitFor(() => expect(terminate).toHaveBeenCalledTimes(1), { timeout: THREAD_WAIT_MS - 5_000 });
    expect(await terminate.mock.results[0]!.value).toBe(1); // the thread's exit code once terminated
  }, THREAD_WAIT_MS);

  it('cancels while the model loads, and before it starts', async () => {
    const terminate = vi.spyOn(Worker.prototype, 'terminate');
    const controller = new AbortController();
    const run = runModelOnce(GOOD, [[features(1)]], { signal: controller.signal });
    controller.abort();
    await expect(run).rejects.toMatchObject({ phase: 'run', message: 'cancelled' });
    await vi.waitFor(() => expect(terminate).toHaveBeenCalledTimes(1), { timeout: THREAD_WAIT_MS - 5_000 });
    await expect(runModelOnce(GOOD, [], { signal: controller.signal })).rejects.toMatchObject({ message: 'cancelled' });
  }, THREAD_WAIT_MS);

  it('gives up after timeoutMs', async () => {
    await expect(runModelOnce(GOOD, [[features(500_000)]], { timeoutMs: 1 })).rejects.toMatchObject({ phase: 'run', message: 'no result after 1 ms' });
  });
});
