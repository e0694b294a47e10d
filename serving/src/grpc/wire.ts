import type { Datatype } from '@cd4ml/contracts';
import { isDatatype, plainValues } from '@cd4ml/onnx';
import { BadRequest, elementCount, fromBinary, fromJson, toBinary } from '../http/tensors.ts';
import type { InferTensor, TensorData } from '../model/types.ts';

// Tensors between the Open Inference Protocol's gRPC messages (as
// @grpc/proto-loader decodes them: keepCase, int64 as strings, bytes as
// Buffers) and the model side's typed tensors. Two encodings: typed
// `contents` per datatype, and `raw_input_contents` / `raw_output_contents`
// (little-endian, row-major, no padding: the REST binary extension's layout,
// so its decoder is reused), which Triton's client sends by default.

export interface WireContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Array<string | number>;
  uint_contents?: number[];
  uint64_contents?: Array<string | number>;
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface WireTensor {
  name: string;
  datatype: string;
  shape: Array<string | number>;
  contents?: WireContents | null;
}

/** The contents field holding each datatype (FP16 has none: raw only, per the protocol). */
const FIELD: Record<Datatype, keyof WireContents | null> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** int64 shape entries arrive as strings; checked as non-negative integers. */
function shapeOf(t: WireTensor, what: string): number[] {
  const shape = (t.shape ?? []).map((d) => (typeof d === 'string' && /^-?\d+$/.test(d) ? Number(d) : d));
  elementCount(shape, what);
  return shape as number[];
}

function bigInts(datatype: 'INT64' | 'UINT64', values: Array<string | number>, what: string): BigInt64Array | BigUint64Array {
  const out = datatype === 'INT64' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
  const [lo, hi] = datatype === 'INT64' ? [-(1n << 63n), (1n << 63n) - 1n] : [0n, (1n << 64n) - 1n];
  for (let i = 0; i < values.length; i++) {
    const v = BigInt(values[i]!);
    if (v < lo || v > hi) throw new BadRequest(`${what}: element ${i} is ${v}, out of ${datatype} range`);
    out[i] = v;
  }
  return out;
}

/** One input from its typed `contents`. */
function fromContents(datatype: Datatype, shape: number[], contents: WireContents, what: string): TensorData {
  const field = FIELD[datatype];
  if (field === null) throw new BadRequest(`${what}: ${datatype} has no typed contents field; send it in raw_input_contents`);
  const values = (contents[field] ?? []) as unknown[];
  for (const [other, v] of Object.entries(contents)) {
    if (other !== field && Array.isArray(v) && v.length > 0) {
      throw new BadRequest(`${what}: datatype ${datatype} goes in contents.${field}, not contents.${other}`);
    }
  }
  if (datatype === 'INT64' || datatype === 'UINT64') {
    const count = elementCount(shape, what);
    if (values.length !== count) throw new BadRequest(`${what}: shape ${JSON.stringify(shape)} needs ${count} elements, contents.${field} has ${values.length}`);
    return bigInts(datatype, values as Array<string | number>, what);
  }
  const plain = datatype === 'BYTES' ? (values as Uint8Array[]).map((b) => Buffer.from(b).toString('utf8')) : values;
  return fromJson(datatype, shape, plain, what);
}

/**
 * The request's inputs as typed tensors. Raw contents, when given, must come
 * one per input and no input may also carry typed contents (the protocol's rule).
 * Throws BadRequest (INVALID_ARGUMENT) naming the input and what was wrong.
 */
export function inputsFromWire(inputs: WireTensor[], raw: Uint8Array[] | undefined): InferTensor[] {
  const rawCount = raw?.length ?? 0;
  if (rawCount > 0 && rawCount !== inputs.length) {
    throw new BadRequest(`raw_input_contents has ${rawCount} entries for ${inputs.length} inputs; send one per input, in the order of "inputs"`);
  }
  return inputs.map((t, i) => {
    const what = `input "${t.name}"`;
    if (!isDatatype(t.datatype)) throw new BadRequest(`${what}: unknown datatype ${JSON.stringify(t.datatype)}`);
    const shape = shapeOf(t, what);
    if (rawCount > 0) {
      if (t.contents && Object.values(t.contents).some((v) => Array.isArray(v) && v.length > 0)) {
        throw new BadRequest(`${what}: has both contents and raw_input_contents; use one`);
      }
      return { name: t.name, datatype: t.datatype, shape, data: fromBinary(t.datatype, shape, raw![i]!, what) };
    }
    return { name: t.name, datatype: t.datatype, shape, data: fromContents(t.datatype, shape, t.contents ?? {}, what) };
  });
}

/** An output's typed `contents` (FP16 cannot have any: use raw). */
export function toContents(t: InferTensor): WireContents {
  const field = FIELD[t.datatype];
  if (field === null) throw new Error(`output "${t.name}": ${t.datatype} can only be sent raw`);
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return { [field]: Array.from(d, String) };
  if (t.datatype === 'BYTES') return { bytes_contents: (d as string[]).map((s) => Buffer.from(s, 'utf8')) };
  return { [field]: plainValues(t) };
}

export interface WireOutputs {
  outputs: Array<{ name: string; datatype: string; shape: number[]; contents?: WireContents }>;
  raw_output_contents: Buffer[];
}

/** Outputs raw (as Triton answers, what its client expects) or in typed contents. */
export function outputsToWire(outputs: InferTensor[], raw: boolean): WireOutputs {
  if (raw) {
    return {
      outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
      raw_output_contents: outputs.map((t) => { const b = toBinary(t); return Buffer.from(b.buffer, b.byteOffset, b.byteLength); }),
    };
  }
  return {
    outputs: outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape], contents: toContents(t) })),
    raw_output_contents: [],
  };
}
