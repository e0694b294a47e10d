import type { BulkTensor, Datatype, Tensor } from '@cd4ml/contracts';
import { DATATYPES } from './datatypes.ts';
import { InputError } from './errors.ts';
import { floatToHalf, halfToFloat } from './float16.ts';
import type { TensorData, TypedTensor } from './tensor.ts';

// Tensor data between its JSON form (contracts' Tensor: smoke sets, holdouts,
// reports) and the typed arrays onnxruntime takes and gives. (Typed arrays <->
// ort.Tensor happens in the worker thread: session-worker.mjs.)

type Values = ArrayLike<unknown>;

/** Module level, not a closure per call: this runs for every request. */
function badValue(name: string, values: Values, i: number, expected: string): never {
  const v = values[i];
  throw new InputError(`input "${name}": value at index ${i} is ${typeof v === 'string' ? JSON.stringify(v) : String(v)}, expected ${expected}`);
}

function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

function toFloats(name: string, datatype: 'FP32' | 'FP64', values: Values): Float32Array | Float64Array {
  const Array_ = DATATYPES[datatype].array as Float32ArrayConstructor;
  if (values instanceof Array_) {
    // Typed already: only finiteness to check, in a loop over one array type.
    const i = firstNonFinite(values);
    if (i >= 0) badValue(name, values, i, 'a finite number (the model takes no NaN or Infinity)');
    return values;
  }
  const out = new Array_(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) badValue(name, values, i, 'a finite number');
    out[i] = v as number;
    // From FLT_MAX plus half an ulp up, a double becomes Infinity as FP32.
    if (!Number.isFinite(out[i]!)) badValue(name, values, i, `a number in ${datatype} range`);
  }
  return out;
}

/** FP16 from numbers (their half-precision bits) or from a Uint16Array of bits as they are. */
function toHalves(name: string, values: Values): Uint16Array {
  if (values instanceof Uint16Array) return values;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !(Math.abs(v) <= 65504)) badValue(name, values, i, 'a finite number in FP16 range');
    out[i] = floatToHalf(v as number);
  }
  return out;
}

function toBigInts(name: string, datatype: 'INT64' | 'UINT64', values: Values): BigInt64Array | BigUint64Array {
  const Array_ = DATATYPES[datatype].array as BigInt64ArrayConstructor;
  if (values instanceof Array_) return values;
  const out = new Array_(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'bigint') out[i] = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = BigInt(v);
    else badValue(name, values, i, `an integer (datatype ${datatype})`);
  }
  return out;
}

/** BOOL as 0/1 bytes: from booleans, 0/1 numbers, or bytes as they are. */
function toBools(name: string, values: Values): Uint8Array {
  if (values instanceof Uint8Array) return values;
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'boolean') out[i] = v ? 1 : 0;
    else if (v === 0 || v === 1) out[i] = v;
    else badValue(name, values, i, 'true, false, 0 or 1 (datatype BOOL)');
  }
  return out;
}

function toStrings(name: string, values: Values): string[] {
  const out = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'string') badValue(name, values, i, 'a string (datatype BYTES)');
    out[i] = v as string;
  }
  return out;
}

/**
 * The values of input `name` in the typed array of `datatype`, checked: finite
 * floats, integers for integer types, booleans for BOOL, strings for BYTES.
 * Data already in the right typed array is returned as it is (no copy).
 * Throws InputError naming the input, the index and the value.
 */
export function toTypedData(name: string, datatype: Datatype, values: Values): TensorData {
  switch (datatype) {
    case 'FP32': case 'FP64': return toFloats(name, datatype, values);
    case 'FP16': return toHalves(name, values);
    case 'INT64': case 'UINT64': return toBigInts(name, datatype, values);
    case 'BOOL': return toBools(name, values);
    case 'BYTES': return toStrings(name, values);
    default: {
      const Array_ = DATATYPES[datatype].array as Int32ArrayConstructor;
      if (values instanceof Array_) return values;
      const out = new Array_(values.length);
      for (let i = 0; i < values.length; i++) {
        let v = values[i];
        if (typeof v === 'bigint') v = Number(v);
        if (typeof v !== 'number' || !Number.isInteger(v)) badValue(name, values, i, `an integer (datatype ${datatype})`);
        out[i] = v as number;
        if (out[i] !== v) badValue(name, values, i, `an integer in ${datatype} range`);
      }
      return out;
    }
  }
}

/** A JSON tensor (smoke set, holdout) in typed arrays, converted once; InputError for values its datatype cannot hold. */
export function fromJsonTensor(t: Tensor | BulkTensor): TypedTensor {
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data: toTypedData(t.name, t.datatype, t.data) };
}

/** Plain JSON values of typed data: numbers (INT64 too, so past 2^53 they round), booleans for BOOL, FP16 as numbers. */
export function plainValues(t: { datatype: Datatype; data: TensorData }): Array<number | boolean | string> {
  const d = t.data;
  if (Array.isArray(d)) return d;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  if (t.datatype === 'FP16') return Array.from(d as Uint16Array, halfToFloat);
  if (t.datatype === 'BOOL') return Array.from(d as Uint8Array, (x) => x !== 0);
  return Array.from(d as ArrayLike<number>);
}

/** A typed tensor as contracts' JSON Tensor (where a report or an older caller wants plain values). */
export function toJsonTensor(t: TypedTensor): Tensor {
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data: plainValues(t) };
}
