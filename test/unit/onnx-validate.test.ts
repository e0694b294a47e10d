import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '@cd4ml/contracts';
import { batchable, checkSignature, compareSignatures, InputError, validateInputs, type TypedTensor } from '@cd4ml/onnx';

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

const input = (rows: number, data?: ArrayLike<number>): TypedTensor => ({
  name: 'input', datatype: 'FP32', shape: [rows, 4], data: Float32Array.from(data ?? Array.from({ length: rows * 4 }, (_, i) => i)),
});
const ids = (rows: number): TypedTensor => ({ name: 'ids', datatype: 'INT64', shape: [rows], data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)) });

describe('validateInputs', () => {
  const nan = Array.from({ length: 8 }, (_, i) => (i === 5 ? NaN : i));
  const inf = Array.from({ length: 8 }, (_, i) => (i === 2 ? -Infinity : i));
  it.each<[string, { inputs: TypedTensor[]; outputs?: string[] }, RegExp]>([
    ['no inputs', { inputs: [] }, /^no inputs given; the model takes input FP32\[-1,4\], ids INT64\[-1\]$/],
    ['unknown input', { inputs: [input(1), ids(1), { ...ids(1), name: 'extra' }] }, /^unknown input "extra"; the model takes input FP32\[-1,4\], ids INT64\[-1\]$/],
    ['missing input', { inputs: [input(1)] }, /^input "ids" is missing; the model takes/],
    ['duplicate input', { inputs: [input(1), input(1), ids(1)] }, /^input "input" given twice$/],
    ['wrong datatype', { inputs: [{ ...input(1), datatype: 'FP64', data: new Float64Array(4) }, ids(1)] }, /^input "input": datatype FP64, the model takes FP32$/],
    ['wrong rank', { inputs: [{ ...input(1), shape: [4] }, ids(1)] }, /^input "input": shape \[4\] does not fit the model's \[-1,4\] \(rank 1, the model's is 2\)$/],
    ['wrong fixed dim', { inputs: [{ ...input(1), shape: [1, 5], data: new Float32Array(5) }, ids(1)] }, /^input "input": shape \[1,5\] does not fit the model's \[-1,4\] \(dimension 1 is 5, must be 4; -1 is free\)$/],
    ['negative dim', { inputs: [{ ...input(1), shape: [-1, 4] }, ids(1)] }, /^input "input": shape must be a list of non-negative integers, got \[-1,4\]$/],
    ['element count', { inputs: [{ ...input(2), data: new Float32Array(7) }, ids(2)] }, /^input "input": 7 values for shape \[2,4\], which needs 8$/],
    ['NaN', { inputs: [input(2, nan), ids(2)] }, /^input "input": value at index 5 is NaN, expected a finite number/],
    ['Infinity', { inputs: [input(2, inf), ids(2)] }, /^input "input": value at index 2 is -Infinity, expected a finite number/],
    ['NaN in a plain array', { inputs: [{ ...input(2), data: nan as unknown as Float32Array }, ids(2)] }, /input "input": value at index 5 is NaN/],
    ['string in a float input', { inputs: [{ ...input(1), data: ['a', 1, 2, 3] as unknown as string[] }, ids(1)] }, /^input "input": value at index 0 is "a", expected a finite number$/],
    ['FP32 overflow', { inputs: [{ ...input(1), data: [1e39, 1, 2, 3] as unknown as Float32Array }, ids(1)] }, /value at index 0 is 1e\+39, expected a number in FP32 range/],
    ['fraction in an INT64 input', { inputs: [input(1), { ...ids(1), data: [1.5] as unknown as BigInt64Array }] }, /^input "ids": value at index 0 is 1.5, expected an integer \(datatype INT64\)$/],
    ['rows differ between inputs', { inputs: [input(2), ids(3)] }, /^input "ids": 3 rows \(first dimension\), other inputs have 2$/],
    ['data not a list', { inputs: [{ ...input(1), data: 7 as unknown as Float32Array }, ids(1)] }, /^input "input": data must be a list of values$/],
    ['unknown output', { inputs: [input(1), ids(1)], outputs: ['label', 'logits'] }, /^unknown output "logits"; the model has label, probabilities$/],
  ])('%s -> InputError', (_, request, message) => {
    let caught: unknown;
    try {
      validateInputs(model, request);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).phase).toBe('run');
    expect((caught as InputError).message).toMatch(message);
  });

  it('accepts a good request, orders inputs like the model, converts plain arrays, keeps typed ones', () => {
    const typed = input(2);
    const v = validateInputs(model, {
      inputs: [{ name: 'ids', datatype: 'INT64', shape: [2], data: [3, 4] as unknown as BigInt64Array }, typed],
      outputs: ['probabilities', 'probabilities'],
    });
    expect(v.inputs.map((t) => t.name)).toEqual(['input', 'ids']);
    expect(v.inputs[1]!.data).toEqual(BigInt64Array.from([3n, 4n]));
    expect(v.inputs[0]).toBe(typed);
    expect(v.outputs).toEqual(['probabilities']);
    expect(v.rows).toBe(2);
  });

  it('converts a Float64Array into the FP32 array the model wants', () => {
    const v = validateInputs(model, { inputs: [{ ...input(1), data: Float64Array.from([1, 2, 3, 4]) }, ids(1)] });
    expect(v.inputs[0]!.data).toEqual(Float32Array.from([1, 2, 3, 4]));
  });

  it('allows any size on free dimensions, but needs fixed ones exactly', () => {
    const free = { inputs: [{ name: 'x', datatype: 'FP64', shape: [-1, -1] }] satisfies TensorSpec[], outputs: [] };
    expect(validateInputs(free, { inputs: [{ name: 'x', datatype: 'FP64', shape: [3, 7], data: new Float64Array(21) }] }).rows).toBe(3);
    const fixed = { inputs: [{ name: 'x', datatype: 'INT32', shape: [2, 2] }] satisfies TensorSpec[], outputs: [] };
    expect(batchable(fixed)).toBe(false);
    expect(validateInputs(fixed, { inputs: [{ name: 'x', datatype: 'INT32', shape: [2, 2], data: new Int32Array(4) }] }).rows).toBe(1);
    expect(() => validateInputs(fixed, { inputs: [{ name: 'x', datatype: 'INT32', shape: [3, 2], data: new Int32Array(6) }] }))
      .toThrow(/dimension 0 is 3, must be 2/);
  });

  it('takes BOOL as booleans or 0/1', () => {
    const m = { inputs: [{ name: 'flag', datatype: 'BOOL', shape: [-1] }] satisfies TensorSpec[], outputs: [] };
    const v = validateInputs(m, { inputs: [{ name: 'flag', datatype: 'BOOL', shape: [3], data: [true, false, 1] as unknown as boolean[] }] });
    expect(v.inputs[0]!.data).toEqual(Uint8Array.from([1, 0, 1]));
    expect(() => validateInputs(m, { inputs: [{ name: 'flag', datatype: 'BOOL', shape: [1], data: [2] as unknown as boolean[] }] }))
      .toThrow(/value at index 0 is 2, expected true, false, 0 or 1/);
  });
});

describe('checkSignature', () => {
  it('checks names, datatypes, shapes and outputs without looking at the data', () => {
    expect(() => checkSignature(model, [{ name: 'input', datatype: 'FP32', shape: [2, 4] }, { name: 'ids', datatype: 'INT64', shape: [2] }], ['label'])).not.toThrow();
    expect(() => checkSignature(model, [{ name: 'input', datatype: 'FP32', shape: [2, 3] }])).toThrow(InputError);
  });
});

describe('batchable', () => {
  it('needs a free first dimension on every input and output', () => {
    expect(batchable(model)).toBe(true);
    expect(batchable({ ...model, outputs: [...model.outputs, { name: 'summary', datatype: 'FP32', shape: [3] }] })).toBe(false);
    expect(batchable({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, -1] }], outputs: [] })).toBe(false);
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
