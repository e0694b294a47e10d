import { describe, expect, it } from 'vitest';
import { Datatype, type Tensor } from '@cd4ml/contracts';
import { DATATYPES, floatToHalf, fromJsonTensor, halfToFloat, InputError, ORT_TYPES, toJsonTensor } from '@cd4ml/onnx';

describe('the datatype table', () => {
  it('covers every OIP datatype with a distinct onnxruntime type (the worker maps outputs back by it)', () => {
    expect(Object.keys(DATATYPES).sort()).toEqual([...Datatype.options].sort());
    expect(new Set(Object.values(ORT_TYPES)).size).toBe(Datatype.options.length);
  });
});

describe('JSON tensors <-> typed arrays', () => {
  const t = (datatype: Tensor['datatype'], data: Tensor['data']): Tensor => ({ name: 'x', datatype, shape: [data.length], data });
  it.each<[Tensor, unknown]>([
    [t('FP32', [0.25, -1.5]), Float32Array.from([0.25, -1.5])],
    [t('FP64', [Math.PI]), Float64Array.from([Math.PI])],
    [t('INT64', [-3, 2 ** 40]), BigInt64Array.from([-3n, 2n ** 40n])],
    [t('UINT8', [0, 255]), Uint8Array.from([0, 255])],
    [t('INT32', [-7]), Int32Array.from([-7])],
    [t('BOOL', [true, false]), Uint8Array.from([1, 0])],
    [t('FP16', [0.5, -2]), Uint16Array.from([0x3800, 0xc000])],
    [t('BYTES', ['a', 'pingüino']), ['a', 'pingüino']],
  ])('%j converts once and back', (json, typed) => {
    const converted = fromJsonTensor(json);
    expect(converted.data).toEqual(typed);
    expect(toJsonTensor(converted)).toEqual(json);
  });

  it.each<[Tensor, RegExp]>([
    [t('INT64', [1.5]), /^input "x": value at index 0 is 1.5, expected an integer \(datatype INT64\)$/],
    [t('INT64', ['7']), /value at index 0 is "7", expected an integer/],
    [t('UINT8', [256]), /value at index 0 is 256, expected an integer in UINT8 range/],
    [t('FP32', [1, 'a']), /value at index 1 is "a", expected a finite number/],
    [t('FP16', [70000]), /value at index 0 is 70000, expected a finite number in FP16 range/],
  ])('refuses what the datatype cannot hold: %j', (json, message) => {
    expect(() => fromJsonTensor(json)).toThrow(InputError);
    expect(() => fromJsonTensor(json)).toThrow(message);
  });
});

describe('FP16', () => {
  it('round-trips through half precision', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.1035156e-5, 1.5e-7, 0.1]) {
      expect(halfToFloat(floatToHalf(v))).toBeCloseTo(v, 3);
    }
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});
