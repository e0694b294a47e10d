import { describe, expect, it } from 'vitest';
import { inputsFromWire, outputsToWire, toContents } from '../../serving/src/grpc/wire.ts';
import { BadRequest } from '../../serving/src/http/tensors.ts';

// The gRPC wire conversions: typed contents per datatype and raw little-endian bytes.

const le32 = (xs: number[]): Buffer => {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => b.writeFloatLE(x, 4 * i));
  return b;
};

describe('inputsFromWire: typed contents', () => {
  it('reads FP32 from fp32_contents with an int64 (string) shape', () => {
    const [t] = inputsFromWire([{ name: 'x', datatype: 'FP32', shape: ['2', '2'], contents: { fp32_contents: [1, 2.5, 3, 4] } }], undefined);
    expect(t!.shape).toEqual([2, 2]);
    expect(t!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t!.data as Float32Array)).toEqual([1, 2.5, 3, 4]);
  });

  it('reads INT64 beyond 2^53 from strings exactly', () => {
    const big = '9007199254740993';
    const [t] = inputsFromWire([{ name: 'i', datatype: 'INT64', shape: ['2'], contents: { int64_contents: [big, '-5'] } }], undefined);
    expect(Array.from(t!.data as BigInt64Array)).toEqual([9007199254740993n, -5n]);
  });

  it('reads INT8, UINT16, BOOL and BYTES from their fields', () => {
    const ts = inputsFromWire([
      { name: 'a', datatype: 'INT8', shape: [2], contents: { int_contents: [-3, 7] } },
      { name: 'b', datatype: 'UINT16', shape: [1], contents: { uint_contents: [65535] } },
      { name: 'c', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
      { name: 'd', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('héllo')] } },
    ], undefined);
    expect(Array.from(ts[0]!.data as Int8Array)).toEqual([-3, 7]);
    expect(Array.from(ts[1]!.data as Uint16Array)).toEqual([65535]);
    expect(ts[2]!.data).toEqual([true, false]);
    expect(ts[3]!.data).toEqual(['héllo']);
  });

  it('refuses values out of range, a wrong count, a wrong field and FP16 contents', () => {
    const one = (t: Parameters<typeof inputsFromWire>[0][0]) => () => inputsFromWire([t], undefined);
    expect(one({ name: 'a', datatype: 'INT8', shape: [1], contents: { int_contents: [300] } })).toThrow(/element 0 is 300.*INT8 range/);
    expect(one({ name: 'a', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1, 2] } })).toThrow(/needs 3 elements.*has 2/);
    expect(one({ name: 'a', datatype: 'FP32', shape: [1], contents: { fp64_contents: [1] } })).toThrow(/goes in contents.fp32_contents, not contents.fp64_contents/);
    expect(one({ name: 'a', datatype: 'FP16', shape: [1], contents: {} })).toThrow(/raw_input_contents/);
    expect(one({ name: 'a', datatype: 'FLOAT', shape: [1], contents: {} })).toThrow(/unknown datatype "FLOAT"/);
    expect(one({ name: 'a', datatype: 'FP32', shape: ['-1'], contents: {} })).toThrow(BadRequest);
    expect(one({ name: 'a', datatype: 'UINT64', shape: [1], contents: { uint64_contents: ['-1'] } })).toThrow(/out of UINT64 range/);
  });
});

describe('inputsFromWire: raw contents', () => {
  it('decodes little-endian FP32 bytes, one entry per input in order', () => {
    const ts = inputsFromWire(
      [{ name: 'x', datatype: 'FP32', shape: ['1', '2'] }, { name: 'y', datatype: 'FP32', shape: ['1'] }],
      [le32([0.5, -2]), le32([7])],
    );
    expect(Array.from(ts[0]!.data as Float32Array)).toEqual([0.5, -2]);
    expect(Array.from(ts[1]!.data as Float32Array)).toEqual([7]);
  });

  it('refuses a byte count that does not fit the shape, a missing entry, and contents beside raw', () => {
    expect(() => inputsFromWire([{ name: 'x', datatype: 'FP32', shape: [2] }], [le32([1])])).toThrow(/needs 8 bytes/);
    expect(() => inputsFromWire([{ name: 'x', datatype: 'FP32', shape: [1] }, { name: 'y', datatype: 'FP32', shape: [1] }], [le32([1])]))
      .toThrow(/raw_input_contents has 1 entries for 2 inputs/);
    expect(() => inputsFromWire([{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp32_contents: [1] } }], [le32([1])]))
      .toThrow(/both contents and raw_input_contents/);
  });
});

describe('outputsToWire', () => {
  const label = { name: 'label', datatype: 'INT64' as const, shape: [2], data: new BigInt64Array([2n, 0n]) };
  const probs = { name: 'probabilities', datatype: 'FP32' as const, shape: [2, 2], data: new Float32Array([0.25, 0.75, 1, 0]) };

  it('answers raw little-endian bytes, shapes and datatypes beside', () => {
    const w = outputsToWire([label, probs], true);
    expect(w.outputs).toEqual([{ name: 'label', datatype: 'INT64', shape: [2] }, { name: 'probabilities', datatype: 'FP32', shape: [2, 2] }]);
    expect(w.raw_output_contents[0]!.readBigInt64LE(8)).toBe(0n);
    expect(w.raw_output_contents[0]!.readBigInt64LE(0)).toBe(2n);
    expect(w.raw_output_contents[1]!.readFloatLE(4)).toBe(0.75);
    // Round trip through the input decoder.
    const back = inputsFromWire(w.outputs, w.raw_output_contents);
    expect(Array.from(back[1]!.data as Float32Array)).toEqual([0.25, 0.75, 1, 0]);
  });

  it('answers typed contents: int64 as strings, floats as numbers; FP16 only raw', () => {
    const w = outputsToWire([label, probs], false);
    expect(w.raw_output_contents).toEqual([]);
    expect(w.outputs[0]!.contents).toEqual({ int64_contents: ['2', '0'] });
    expect(w.outputs[1]!.contents).toEqual({ fp32_contents: [0.25, 0.75, 1, 0] });
    expect(() => toContents({ name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) })).toThrow(/only be sent raw/);
  });
});
