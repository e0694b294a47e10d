import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '@cd4ml/contracts';
import { InferenceError, type InferTensor } from '../../serving/src/index.ts';
import {
  batchable, compareOutputs, compareSignatures, concatRequests, fromJsonTensor, splitOutputs, validateRequest,
} from '../../serving/src/model/tensors.ts';

const model = {
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [-1, 4] },
    { name: 'ids', datatype: 'INT64', shape: [-1] },
  ] satisfies TensorSpec[],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
  ] satisfies TensorSpec[],
};

const input = (rows: number, data?: ArrayLike<number>): InferTensor => ({
  name: 'input', datatype: 'FP32', shape: [rows, 4], data: Float32Array.from(data ?? Array.from({ length: rows * 4 }, (_, i) => i)),
});
const ids = (rows: number): InferTensor => ({ name: 'ids', datatype: 'INT64', shape: [rows], data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)) });

describe('validateRequest', () => {
  const nan = Array.from({ length: 8 }, (_, i) => (i === 5 ? NaN : i));
  const inf = Array.from({ length: 8 }, (_, i) => (i === 2 ? -Infinity : i));
  it.each<[string, { inputs: InferTensor[]; outputs?: string[] }, RegExp]>([
    ['no inputs', { inputs: [] }, /no inputs given; model inputs: input, ids/],
    ['unknown input', { inputs: [input(1), ids(1), { ...ids(1), name: 'extra' }] }, /unknown input extra; model inputs: input, ids/],
    ['missing input', { inputs: [input(1)] }, /missing input ids/],
    ['duplicate input', { inputs: [input(1), input(1), ids(1)] }, /input input given twice/],
    ['wrong datatype', { inputs: [{ ...input(1), datatype: 'FP64', data: new Float64Array(4) }, ids(1)] }, /input input: datatype FP64, model expects FP32/],
    ['wrong rank', { inputs: [{ ...input(1), shape: [4] }, ids(1)] }, /input input: shape \[4\] has rank 1, model expects rank 2 \[-1,4\]/],
    ['wrong fixed dim', { inputs: [{ ...input(1), shape: [1, 5], data: new Float32Array(5) }, ids(1)] }, /input input: shape \[1,5\] has 5 at dimension 1, model expects 4/],
    ['negative dim', { inputs: [{ ...input(1), shape: [-1, 4] }, ids(1)] }, /input input: shape must be a list of non-negative integers/],
    ['element count', { inputs: [{ ...input(2), data: new Float32Array(7) }, ids(2)] }, /input input: 7 values for shape \[2,4\], which needs 8/],
    ['NaN', { inputs: [input(2, nan), ids(2)] }, /input input: value at index 5 is NaN/],
    ['Infinity', { inputs: [input(2, inf), ids(2)] }, /input input: value at index 2 is -Infinity/],
    ['NaN in a plain array', { inputs: [{ ...input(2), data: nan as unknown as Float32Array }, ids(2)] }, /input input: value at index 5 is NaN/],
    ['string in a float input', { inputs: [{ ...input(1), data: ['a', 1, 2, 3] as unknown as string[] }, ids(1)] }, /input input: value at index 0 is not a number/],
    ['fraction in an INT64 input', { inputs: [input(1), { ...ids(1), data: [1.5] as unknown as BigInt64Array }] }, /input ids: value at index 0 \(1.5\) is not an integer/],
    ['rows differ between inputs', { inputs: [input(2), ids(3)] }, /input ids: 3 rows \(first dimension\), other inputs have 2/],
    ['data not a list', { inputs: [{ ...input(1), data: 7 as unknown as Float32Array }, ids(1)] }, /input input: data must be a list of values/],
    ['unknown output', { inputs: [input(1), ids(1)], outputs: ['label', 'logits'] }, /unknown output logits; model outputs: label, probabilities/],
  ])('%s -> 400', (_, request, message) => {
    let caught: unknown;
    try {
      validateRequest(model, request);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InferenceError);
    expect((caught as InferenceError).status).toBe(400);
    expect((caught as InferenceError).message).toMatch(message);
  });

  it('accepts a good request, orders inputs like the model, converts plain arrays', () => {
    const v = validateRequest(model, {
      inputs: [{ name: 'ids', datatype: 'INT64', shape: [2], data: [3, 4] as unknown as BigInt64Array }, input(2)],
      outputs: ['probabilities'],
    });
    expect(v.inputs.map((t) => t.name)).toEqual(['input', 'ids']);
    expect(v.inputs[1]!.data).toEqual(BigInt64Array.from([3n, 4n]));
    expect(v.inputs[0]!.data).toBeInstanceOf(Float32Array);
    expect(v.outputs).toEqual(['probabilities']);
    expect(v.rows).toBe(2);
  });

  it('converts a Float64Array into the FP32 array the model wants', () => {
    const v = validateRequest(model, { inputs: [{ ...input(1), data: Float64Array.from([1, 2, 3, 4]) }, ids(1)] });
    expect(v.inputs[0]!.data).toEqual(Float32Array.from([1, 2, 3, 4]));
  });

  it('allows any size on free dimensions, but needs fixed ones exactly', () => {
    const free = { inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, -1] }] satisfies TensorSpec[], outputs: [] };
    expect(validateRequest(free, { inputs: [{ name: 'x', datatype: 'FP64', shape: [3, 7], data: new Float64Array(21) }] }).rows).toBe(3);
    const fixed = { inputs: [{ name: 'x', datatype: 'INT32', shape: [2, 2] }] satisfies TensorSpec[], outputs: [] };
    expect(batchable(fixed.inputs, fixed.outputs)).toBe(false);
    expect(validateRequest(fixed, { inputs: [{ name: 'x', datatype: 'INT32', shape: [2, 2], data: new Int32Array(4) }] }).rows).toBe(1);
    expect(() => validateRequest(fixed, { inputs: [{ name: 'x', datatype: 'INT32', shape: [3, 2], data: new Int32Array(6) }] }))
      .toThrow(/has 3 at dimension 0, model expects 2/);
  });

  it('takes BOOL as booleans or 0/1 bytes', () => {
    const m = { inputs: [{ name: 'flag', datatype: 'BOOL', shape: [-1] }] satisfies TensorSpec[], outputs: [] };
    const v = validateRequest(m, { inputs: [{ name: 'flag', datatype: 'BOOL', shape: [3], data: [true, false, true] as unknown as boolean[] }] });
    expect(v.inputs[0]!.data).toEqual(Uint8Array.from([1, 0, 1]));
  });
});

describe('batch concat and split', () => {
  it('knows which signatures can be batched', () => {
    expect(batchable(model.inputs, model.outputs)).toBe(true);
    expect(batchable(model.inputs, [...model.outputs, { name: 'summary', datatype: 'FP32', shape: [3] }])).toBe(false);
    expect(batchable([{ name: 'x', datatype: 'FP32', shape: [1, -1] }], [])).toBe(false);
  });

  it('stacks requests along dimension 0 and splits the outputs back by rows', () => {
    const a = [input(1, [1, 2, 3, 4]), ids(1)];
    const b = [input(2, [5, 6, 7, 8, 9, 10, 11, 12]), ids(2)];
    const batch = concatRequests([a, b]);
    expect(batch[0]).toEqual({ name: 'input', datatype: 'FP32', shape: [3, 4], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) });
    expect(batch[1]).toEqual({ name: 'ids', datatype: 'INT64', shape: [3], data: BigInt64Array.from([0n, 0n, 1n]) });
    // The concatenation owns its buffer (it is transferred to the worker).
    expect((batch[0]!.data as Float32Array).buffer).not.toBe((a[0]!.data as Float32Array).buffer);

    const outputs: InferTensor[] = [
      { name: 'label', datatype: 'INT64', shape: [3], data: BigInt64Array.from([7n, 8n, 9n]) },
      { name: 'probabilities', datatype: 'FP32', shape: [3, 2], data: Float32Array.from([0.1, 0.9, 0.2, 0.8, 0.3, 0.7]) },
    ];
    const parts = splitOutputs(outputs, [1, 2])!;
    expect(parts[0]).toEqual([
      { name: 'label', datatype: 'INT64', shape: [1], data: BigInt64Array.from([7n]) },
      { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([0.1, 0.9]) },
    ]);
    expect(parts[1]).toEqual([
      { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([8n, 9n]) },
      { name: 'probabilities', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([0.2, 0.8, 0.3, 0.7]) },
    ]);
  });

  it('splits plain arrays (BOOL, BYTES) too', () => {
    const parts = splitOutputs([{ name: 'ok', datatype: 'BOOL', shape: [3], data: [true, false, true] }], [2, 1])!;
    expect(parts.map((p) => p[0]!.data)).toEqual([[true, false], [true]]);
  });

  it('refuses to split outputs whose first dimension is not the batch', () => {
    expect(splitOutputs([{ name: 'summary', datatype: 'FP32', shape: [2], data: new Float32Array(2) }], [1, 2])).toBeNull();
    expect(splitOutputs([{ name: 'scalar', datatype: 'FP32', shape: [], data: new Float32Array(1) }], [1])).toBeNull();
  });
});

describe('compareOutputs (smoke test)', () => {
  const expected = [
    { name: 'label', datatype: 'INT64' as const, shape: [2], data: [0, 2] },
    { name: 'probabilities', datatype: 'FP32' as const, shape: [2, 2], data: [0.25, 0.75, 0.5, 0.5] },
  ];
  const label = (data: bigint[]): InferTensor => ({ name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from(data) });
  const probs = (data: number[], shape = [2, 2]): InferTensor => ({ name: 'probabilities', datatype: 'FP32', shape, data: Float32Array.from(data) });
  it.each<[string, InferTensor[], RegExp | null]>([
    ['matching', [label([0n, 2n]), probs([0.25003, 0.75, 0.5, 0.5])], null],
    ['float beyond tolerance', [label([0n, 2n]), probs([0.25, 0.75, 0.5, 0.5003])], /probabilities max \|diff\| 3.0e-4 at \[3\].*> tolerance 1.0e-4/],
    ['NaN', [label([0n, 2n]), probs([0.25, NaN, 0.5, 0.5])], /max \|diff\| Infinity at \[1\]/],
    ['integer differs', [label([0n, 1n]), probs([0.25, 0.75, 0.5, 0.5])], /label: 1 of 2 values differ \(first \[1\]: 1 vs expected 2\)/],
    ['missing output', [label([0n, 2n])], /output probabilities missing \(model gave: label\)/],
    ['shape differs', [label([0n, 2n]), probs([0.25, 0.75, 0.5, 0.5], [1, 4])], /probabilities shape \[1,4\] != expected \[2,2\]/],
  ])('%s', (_, actual, problem) => {
    const problems = compareOutputs(actual, expected, 1e-4);
    if (problem) expect(problems.join('; ')).toMatch(problem);
    else expect(problems).toEqual([]);
  });

  it('reads smoke JSON tensors into typed arrays', () => {
    expect(fromJsonTensor(expected[0]!).data).toEqual(BigInt64Array.from([0n, 2n]));
    expect(fromJsonTensor(expected[1]!).data).toEqual(Float32Array.from([0.25, 0.75, 0.5, 0.5]));
  });
});

describe('compareSignatures', () => {
  it('accepts the same signature and names every disagreement', () => {
    expect(compareSignatures(model, model)).toEqual([]);
    const problems = compareSignatures(model, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 5] }, { name: 'other', datatype: 'INT64', shape: [-1] }],
      outputs: [{ name: 'label', datatype: 'INT32', shape: [-1] }],
    });
    expect(problems).toEqual([
      'manifest input input is FP32[-1,4], the model says FP32[-1,5]',
      'manifest input ids is not in the model (model inputs: input, other)',
      'model input other is missing from the manifest',
      'manifest output label is INT64[-1], the model says INT32[-1]',
      'manifest output probabilities is not in the model (model outputs: label)',
    ]);
  });
});
