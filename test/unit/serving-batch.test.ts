import { describe, expect, it } from 'vitest';
import type { InferTensor } from '../../serving/src/index.ts';
import { concatRequests, splitOutputs } from '../../serving/src/model/batch.ts';

// Dynamic batching's tensor work (input validation and the smoke comparison: onnx-*.test.ts).

const input = (rows: number, data?: ArrayLike<number>): InferTensor => ({
  name: 'input', datatype: 'FP32', shape: [rows, 4], data: Float32Array.from(data ?? Array.from({ length: rows * 4 }, (_, i) => i)),
});
const ids = (rows: number): InferTensor => ({ name: 'ids', datatype: 'INT64', shape: [rows], data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)) });

describe('batch concat and split', () => {
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
