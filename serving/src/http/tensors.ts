import type { Datatype } from '@cd4ml/contracts';
import { elementBytes, floatToHalf, halfToFloat, isHeldAs, plainValues } from '@cd4ml/onnx';
import { BadRequest, type InferTensor, type TensorData } from '../model/types.ts';

// Tensor (de)serialisation for the Open Inference Protocol v2 REST API:
// JSON `data` (flat or nested, row-major) and the binary tensor data
// extension (little-endian, row-major, no padding; BOOL one byte; BYTES a
// 4-byte little-endian length before each element).

export { BadRequest };

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 0xff], UINT16: [0, 0xffff], UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f], INT16: [-0x8000, 0x7fff], INT32: [-0x80000000, 0x7fffffff],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** The smallest double that rounds to Infinity as FP32 (FLT_MAX plus half an ulp). */
const FP32_OVERFLOW = 3.4028235677973366e38;

/** Largest tensor a request may describe (elements); keeps a lying shape from allocating gigabytes. */
const MAX_ELEMENTS = 1 << 28;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const describe = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : String(v);

/** Checks a shape (non-negative integers) and returns its element count. */
export function elementCount(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) throw new BadRequest(`${what}: "shape" must be an array of non-negative integers`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new BadRequest(`${what}: "shape" must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    n *= d;
    if (n > MAX_ELEMENTS) throw new BadRequest(`${what}: shape ${JSON.stringify(shape)} holds more than ${MAX_ELEMENTS} elements`);
  }
  return n;
}

/** Flattens row-major nested arrays; nesting deeper than the shape's rank is an error. */
function flatten(data: unknown, rank: number, what: string): unknown[] {
  if (!Array.isArray(data)) {
    if (rank === 0 && data !== undefined && typeof data !== 'object') return [data];
    throw new BadRequest(`${what}: "data" must be an array`);
  }
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (a: unknown[], depth: number): void => {
    if (depth > Math.max(rank, 1)) throw new BadRequest(`${what}: "data" is nested deeper than its shape`);
    for (const x of a) {
      if (Array.isArray(x)) walk(x, depth + 1);
      else out.push(x);
    }
  };
  walk(data, 1);
  return out;
}

/** Module level, not a closure in fromJson: that would be allocated for every request. */
function badElement(what: string, flat: unknown[], i: number, expected: string): never {
  throw new BadRequest(`${what}: element ${i} is ${describe(flat[i])}, expected ${expected}`);
}

/** Converts JSON `data` (flat or nested) into the typed array for its datatype. */
export function fromJson(datatype: Datatype, shape: number[], data: unknown, what: string): TensorData {
  const count = elementCount(shape, what);
  const flat = flatten(data, shape.length, what);
  if (flat.length !== count) {
    throw new BadRequest(`${what}: shape ${JSON.stringify(shape)} needs ${count} elements, "data" has ${flat.length}`);
  }
  switch (datatype) {
    case 'BOOL': {
      const out: boolean[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'boolean') badElement(what, flat, i, 'true or false');
        out[i] = v as boolean;
      }
      return out;
    }
    case 'BYTES': {
      const out: string[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'string') badElement(what, flat, i, 'a string');
        out[i] = v as string;
      }
      return out;
    }
    case 'FP16': case 'FP32': case 'FP64': {
      if (datatype === 'FP64') {
        const out = new Float64Array(count);
        for (let i = 0; i < count; i++) {
          const v = flat[i];
          if (typeof v !== 'number' || !Number.isFinite(v)) badElement(what, flat, i, 'a finite number');
          out[i] = v as number;
        }
        return out;
      }
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) badElement(what, flat, i, 'a finite number');
        // From FLT_MAX plus half an ulp up, a value would become Infinity.
        if (v >= FP32_OVERFLOW || v <= -FP32_OVERFLOW) badElement(what, flat, i, `a number in ${datatype} range`);
        out[i] = v as number;
      }
      return datatype === 'FP16' ? toHalf(out) : out;
    }
    default: {
      const [lo, hi] = INT_RANGE[datatype]!;
      const ok = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
      if (datatype === 'INT64' || datatype === 'UINT64') {
        const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
        for (let i = 0; i < count; i++) {
          const v = flat[i];
          if (!ok(v)) badElement(what, flat, i, `an integer in ${datatype} range (JSON-safe: ${lo}..${hi})`);
          out[i] = BigInt(v as number);
        }
        return out;
      }
      const out = newIntArray(datatype, count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (!ok(v)) badElement(what, flat, i, `an integer in ${datatype} range ${lo}..${hi}`);
        out[i] = v as number;
      }
      return out;
    }
  }
}

function newIntArray(datatype: Datatype, n: number): Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array {
  switch (datatype) {
    case 'UINT8': return new Uint8Array(n);
    case 'UINT16': return new Uint16Array(n);
    case 'UINT32': return new Uint32Array(n);
    case 'INT8': return new Int8Array(n);
    case 'INT16': return new Int16Array(n);
    default: return new Int32Array(n);
  }
}

function typedFromBytes(datatype: Datatype, bytes: Uint8Array): TensorData {
  // Copy into a fresh, aligned buffer: request body slices can start at any offset.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  if (!LITTLE_ENDIAN && elementBytes(datatype) > 1) swapBytes(copy, elementBytes(datatype));
  const b = copy.buffer;
  switch (datatype) {
    case 'UINT8': return copy;
    case 'INT8': return new Int8Array(b);
    case 'UINT16': case 'FP16': return new Uint16Array(b);
    case 'INT16': return new Int16Array(b);
    case 'UINT32': return new Uint32Array(b);
    case 'INT32': return new Int32Array(b);
    case 'UINT64': return new BigUint64Array(b);
    case 'INT64': return new BigInt64Array(b);
    case 'FP32': return new Float32Array(b);
    case 'FP64': return new Float64Array(b);
    default: throw new Error(`typedFromBytes: ${datatype}`);
  }
}

function swapBytes(a: Uint8Array, size: number): void {
  for (let i = 0; i < a.length; i += size) a.subarray(i, i + size).reverse();
}

/** Decodes one input's binary data (the binary tensor data extension). */
export function fromBinary(datatype: Datatype, shape: number[], bytes: Uint8Array, what: string): TensorData {
  const count = elementCount(shape, what);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let off = 0;
    while (off < bytes.byteLength) {
      if (off + 4 > bytes.byteLength) throw new BadRequest(`${what}: BYTES element ${out.length} has a truncated length prefix`);
      const len = view.getUint32(off, true);
      off += 4;
      if (off + len > bytes.byteLength) throw new BadRequest(`${what}: BYTES element ${out.length} claims ${len} bytes, only ${bytes.byteLength - off} left`);
      out.push(Buffer.from(bytes.buffer, bytes.byteOffset + off, len).toString('utf8'));
      off += len;
    }
    if (out.length !== count) throw new BadRequest(`${what}: shape ${JSON.stringify(shape)} needs ${count} elements, binary data has ${out.length}`);
    return out;
  }
  const expected = count * elementBytes(datatype);
  if (bytes.byteLength !== expected) {
    throw new BadRequest(`${what}: shape ${JSON.stringify(shape)} of ${datatype} needs ${expected} bytes, binary_data_size is ${bytes.byteLength}`);
  }
  if (datatype === 'BOOL') {
    const out: boolean[] = new Array(count);
    for (let i = 0; i < count; i++) {
      if (bytes[i]! > 1) throw new BadRequest(`${what}: BOOL element ${i} is byte ${bytes[i]}, expected 0 or 1`);
      out[i] = bytes[i] === 1;
    }
    return out;
  }
  const data = typedFromBytes(datatype, bytes);
  if (datatype === 'FP32' || datatype === 'FP64') {
    const f = data as Float32Array | Float64Array;
    for (let i = 0; i < f.length; i++) {
      if (!Number.isFinite(f[i]!)) throw new BadRequest(`${what}: element ${i} is ${f[i]}, expected a finite number`);
    }
  } else if (datatype === 'FP16') {
    const h = data as Uint16Array;
    for (let i = 0; i < h.length; i++) {
      if ((h[i]! & 0x7c00) === 0x7c00) throw new BadRequest(`${what}: element ${i} is ${halfToFloat(h[i]!)}, expected a finite number`);
    }
  }
  return data;
}

// ---- outputs ---------------------------------------------------------------

/** JSON `data` for an output tensor: numbers (INT64 too), booleans or strings; non-finite floats as null. */
export function toJson(t: InferTensor): Array<number | boolean | string | null> {
  const values: Array<number | boolean | string | null> = plainValues(t);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && !Number.isFinite(v)) values[i] = null;
  }
  return values;
}

/**
 * The JSON text of an output's `data`, the same as JSON.stringify(toJson(t))
 * but without building an array of boxed numbers first: a typed array's
 * join() prints each element as JSON would. Int64 values keep every digit.
 * Non-finite floats (null in JSON) take the slow path.
 */
export function jsonDataText(t: InferTensor): string {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return `[${d.join(',')}]`;
  if (Array.isArray(d) || t.datatype === 'FP16' || t.datatype === 'BOOL') return JSON.stringify(toJson(t));
  const nums = d as Float32Array;
  // Checked on the numbers, not by scanning the text: the text is many times longer.
  for (let i = 0; i < nums.length; i++) if (!Number.isFinite(nums[i]!)) return JSON.stringify(toJson(t));
  return `[${nums.join(',')}]`;
}

/** Raw little-endian bytes for an output tensor. */
export function toBinary(t: InferTensor): Uint8Array {
  const d = t.data;
  if (t.datatype === 'BYTES') {
    const parts = (d as unknown[]).map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s as Uint8Array)));
    const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
    let off = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, off);
      p.copy(out, off + 4);
      off += 4 + p.length;
    }
    return out;
  }
  if (Array.isArray(d)) {
    // boolean[] (BOOL) — or any plain numbers a model side might hand back.
    if (t.datatype === 'BOOL') return Uint8Array.from(d as unknown[], (x) => (x ? 1 : 0));
    return toBinary({ ...t, data: fromJson(t.datatype, [d.length], d, `output "${t.name}"`) });
  }
  const size = elementBytes(t.datatype);
  let view = d as Exclude<TensorData, unknown[]>;
  if (!isHeldAs(t.datatype, view)) {
    // The typed array does not have the datatype's layout: convert element by element.
    view = fromJson(t.datatype, [view.length], toJson(t), `output "${t.name}"`) as typeof view;
  }
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  if (LITTLE_ENDIAN || size === 1) return bytes;
  const copy = Uint8Array.from(bytes);
  swapBytes(copy, size);
  return copy;
}

// ---- FP16 ------------------------------------------------------------------

function toHalf(src: Float32Array | Float64Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    if (Math.abs(v) > 65504) throw new BadRequest(`FP16 element ${i} is ${v}, outside FP16 range`);
    out[i] = floatToHalf(v);
  }
  return out;
}
