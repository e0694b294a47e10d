import { describe, expect, it } from 'vitest';
import { jsonDataText, toJson } from '@cd4ml/serving/http/tensors';
import type { InferTensor } from '@cd4ml/serving/model/types';

const tensor = (datatype: string, data: InferTensor['data']): InferTensor => ({ name: 'x', datatype, shape: [(data as ArrayLike<unknown>).length], data } as InferTensor);

/** The hand-written response text must parse to exactly what JSON.stringify(toJson(...)) gives. */
describe('jsonDataText', () => {
  const cases: [string, InferTensor][] = [
    ['FP32 with tiny, huge and negative values', tensor('FP32', Float32Array.from([0.1, -2.5e-8, 3.4e38, 0, -0, 1 / 3, 0.987654321]))],
    ['FP64', tensor('FP64', Float64Array.from([Math.PI, 1e-300, -1e21, 5e-324]))],
    ['FP32 with NaN and Infinity (null in JSON)', tensor('FP32', Float32Array.from([1, NaN, Infinity, -Infinity]))],
    ['INT32', tensor('INT32', Int32Array.from([-2147483648, 0, 2147483647]))],
    ['UINT8', tensor('UINT8', Uint8Array.from([0, 255]))],
    ['BOOL', tensor('BOOL', Uint8Array.from([1, 0, 1]))],
    ['FP16', tensor('FP16', Uint16Array.from([0x3c00, 0xc000, 0x7e00]))],
    ['BYTES', tensor('BYTES', ['a"b', 'ü\n'])],
    ['empty', tensor('FP32', new Float32Array(0))],
  ];
  for (const [name, t] of cases) {
    it(name, () => {
      expect(jsonDataText(t)).toBe(JSON.stringify(toJson(t)));
    });
  }

  it('INT64 keeps every digit (JSON.stringify of Number would round past 2^53)', () => {
    const t = tensor('INT64', BigInt64Array.from([0n, -1n, 9007199254740993n]));
    expect(jsonDataText(t)).toBe('[0,-1,9007199254740993]');
  });
});

describe('fromJson FP32 range', () => {
  it('takes the largest double that rounds to a finite FP32 and refuses the next one', async () => {
    const { fromJson } = await import('@cd4ml/serving/http/tensors');
    const below = 3.4028235677973362e38; // rounds down to FLT_MAX
    const from = 3.4028235677973366e38; // rounds up to Infinity
    expect(Array.from(fromJson('FP32', [2], [below, -below], 'input "x"') as Float32Array)).toEqual([3.4028234663852886e38, -3.4028234663852886e38]);
    expect(() => fromJson('FP32', [1], [from], 'input "x"')).toThrow(/element 0 is 3\.4028235677973366e\+38, expected a number in FP32 range/);
    expect(() => fromJson('FP32', [1], [-from], 'input "x"')).toThrow(/FP32 range/);
    // FP64 has no such limit short of Infinity, which JSON cannot carry.
    expect(Array.from(fromJson('FP64', [1], [1e300], 'input "x"') as Float64Array)).toEqual([1e300]);
  });
});
