import type { Datatype, Tensor, TensorSpec } from '@cd4ml/contracts';
import { InferenceError, type InferTensor, type TensorData } from './types.ts';

// Pure tensor helpers: request validation against a model's input signature,
// conversion to the typed arrays onnxruntime wants, and the concat/split used
// by dynamic batching. Nothing here touches onnxruntime or threads.

type TypedCtor =
  | Float32ArrayConstructor | Float64ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor
  | Int32ArrayConstructor | Int16ArrayConstructor | Int8ArrayConstructor
  | Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor;

/** OIP datatype -> typed array holding it (BOOL as 0/1 bytes, FP16 as raw bits); BYTES is a string[]. */
export const TYPED: Record<Datatype, TypedCtor | null> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
  BYTES: null,
};

const FLOAT_TYPES = new Set<Datatype>(['FP32', 'FP64']);
const BIG_TYPES = new Set<Datatype>(['INT64', 'UINT64']);
const EXACT_TYPES = new Set<Datatype>(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'BYTES']);

const fmtShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;
const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
const bad = (message: string): InferenceError => new InferenceError(400, message);

type ArrayLikeData = ArrayLike<unknown> & { length: number };

function isArrayLike(x: unknown): x is ArrayLikeData {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/** The first dimension of every spec is free (-1), so requests can be stacked along it. */
export function batchable(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): boolean {
  return inputs.length > 0 && [...inputs, ...outputs].every((s) => s.shape.length > 0 && s.shape[0] === -1);
}

function firstNonFinite(a: Float32Array | Float64Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/**
 * Converts `data` into the typed array for `datatype`, or says what is wrong
 * with it (non-numbers, non-integers for integer types, non-finite floats).
 */
function toTypedData(name: string, datatype: Datatype, data: ArrayLikeData): TensorData {
  const Ctor = TYPED[datatype];
  if (Ctor === null) {
    // BYTES: strings only.
    const out: string[] = new Array<string>(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'string') throw bad(`input ${name}: value at index ${i} is not a string (datatype BYTES)`);
      out[i] = v;
    }
    return out;
  }
  if (FLOAT_TYPES.has(datatype)) {
    if (data instanceof Ctor) {
      // Typed already: only finiteness to check, in a loop over one array type.
      const i = firstNonFinite(data as Float32Array | Float64Array);
      if (i >= 0) throw bad(`input ${name}: value at index ${i} is ${(data as Float32Array)[i]}; the model needs finite numbers (no NaN or Infinity)`);
      return data as Float32Array | Float64Array;
    }
    const out = new (Ctor as Float32ArrayConstructor)(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number') throw bad(`input ${name}: value at index ${i} is not a number`);
      if (!Number.isFinite(v)) {
        throw bad(`input ${name}: value at index ${i} is ${v}; the model needs finite numbers (no NaN or Infinity)`);
      }
      out[i] = v;
    }
    return out as Float32Array | Float64Array;
  }
  if (data instanceof Ctor) return data as TensorData;
  if (BIG_TYPES.has(datatype)) {
    const out = new (Ctor as BigInt64ArrayConstructor)(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v === 'bigint') out[i] = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = BigInt(v);
      else throw bad(`input ${name}: value at index ${i} (${String(v)}) is not an integer (datatype ${datatype})`);
    }
    return out;
  }
  const out = new (Ctor as Int32ArrayConstructor)(data.length);
  for (let i = 0; i < data.length; i++) {
    let v = data[i];
    if (datatype === 'BOOL' && typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v === 'bigint') v = Number(v);
    if (typeof v !== 'number' || (datatype !== 'FP16' && !Number.isInteger(v))) {
      throw bad(`input ${name}: value at index ${i} (${String(v)}) is not ${datatype === 'BOOL' ? 'a boolean' : 'an integer'} (datatype ${datatype})`);
    }
    out[i] = v;
  }
  return out;
}

const inputNames = (model: ModelSignature): string => model.inputs.map((s) => s.name).join(', ');

export interface ValidRequest {
  /** Inputs in the model's order, data in the datatype's typed array. */
  inputs: InferTensor[];
  /** Requested output names, or undefined for all. */
  outputs: string[] | undefined;
  /** Size of the first dimension (the batch rows) when the model is batchable, else 1. */
  rows: number;
}

export interface ModelSignature {
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

/**
 * Checks a request against the model's signature; throws InferenceError 400
 * naming the problem. Returns the inputs converted to typed arrays.
 */
export function validateRequest(
  model: ModelSignature,
  request: { inputs: readonly InferTensor[]; outputs?: readonly string[] | undefined },
  isBatchable = batchable(model.inputs, model.outputs),
): ValidRequest {
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) throw bad(`no inputs given; model inputs: ${inputNames(model)}`);
  // Loops, not a Map: a model has a handful of inputs and this runs for every request.
  for (let i = 0; i < request.inputs.length; i++) {
    const t = request.inputs[i]!;
    if (t === null || typeof t !== 'object' || typeof t.name !== 'string') throw bad('every input needs a name');
    for (let j = 0; j < i; j++) if (request.inputs[j]!.name === t.name) throw bad(`input ${t.name} given twice`);
    let known = false;
    for (const s of model.inputs) if (s.name === t.name) known = true;
    if (!known) throw bad(`unknown input ${t.name}; model inputs: ${inputNames(model)}`);
  }
  const inputs: InferTensor[] = [];
  let rows: number | undefined;
  for (const spec of model.inputs) {
    let t: InferTensor | undefined;
    for (const x of request.inputs) if (x.name === spec.name) t = x;
    if (!t) throw bad(`missing input ${spec.name}; model inputs: ${inputNames(model)}`);
    if (t.datatype !== spec.datatype) throw bad(`input ${spec.name}: datatype ${String(t.datatype)}, model expects ${spec.datatype}`);
    const shape = t.shape;
    if (!Array.isArray(shape)) throw bad(`input ${spec.name}: shape must be a list of non-negative integers`);
    for (const d of shape) if (!Number.isSafeInteger(d) || d < 0) throw bad(`input ${spec.name}: shape must be a list of non-negative integers`);
    if (shape.length !== spec.shape.length) {
      throw bad(`input ${spec.name}: shape ${fmtShape(shape)} has rank ${shape.length}, model expects rank ${spec.shape.length} ${fmtShape(spec.shape)}`);
    }
    for (let i = 0; i < spec.shape.length; i++) {
      const want = spec.shape[i]!;
      if (want >= 0 && shape[i] !== want) {
        throw bad(`input ${spec.name}: shape ${fmtShape(shape)} has ${shape[i]} at dimension ${i}, model expects ${want} ${fmtShape(spec.shape)}`);
      }
    }
    if (!isArrayLike(t.data)) throw bad(`input ${spec.name}: data must be a list of values`);
    const count = product(shape);
    if (t.data.length !== count) {
      throw bad(`input ${spec.name}: ${t.data.length} values for shape ${fmtShape(shape)}, which needs ${count}`);
    }
    if (isBatchable) {
      const r = shape[0]!;
      if (rows === undefined) rows = r;
      else if (r !== rows) throw bad(`input ${spec.name}: ${r} rows (first dimension), other inputs have ${rows}`);
    }
    const data = toTypedData(spec.name, spec.datatype, t.data);
    // Already typed (the HTTP layer converts while parsing): keep the caller's tensor, no copy.
    inputs.push(data === t.data ? t : { name: spec.name, datatype: spec.datatype, shape: [...shape], data });
  }
  let outputs: string[] | undefined;
  if (request.outputs !== undefined && request.outputs !== null) {
    if (!Array.isArray(request.outputs)) throw bad('outputs must be a list of output names');
    const known = model.outputs.map((s) => s.name);
    for (const name of request.outputs) {
      if (!known.includes(name)) throw bad(`unknown output ${String(name)}; model outputs: ${known.join(', ')}`);
    }
    outputs = request.outputs.length > 0 ? [...new Set(request.outputs)] : undefined;
  }
  return { inputs, outputs, rows: isBatchable ? (rows ?? 0) : 1 };
}

/** A smoke-set tensor (plain JSON numbers) as an InferTensor with typed data. */
export function fromJsonTensor(t: Tensor): InferTensor {
  const Ctor = TYPED[t.datatype];
  let data: TensorData;
  if (Ctor === null) data = t.data.map(String);
  else if (Ctor === BigInt64Array || Ctor === BigUint64Array) {
    data = (Ctor as BigInt64ArrayConstructor).from(t.data, (v) => BigInt(Math.trunc(Number(v))));
  } else data = (Ctor as Float64ArrayConstructor).from(t.data, (v) => Number(v));
  return { name: t.name, datatype: t.datatype, shape: [...t.shape], data };
}

/** Rows start..end of a batch's output: a view for typed arrays (no copy: the batch's buffer is this thread's alone). */
function rowsOf(data: TensorData, start: number, end: number): TensorData {
  return (Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end)) as TensorData;
}

/** Stacks the same input of several requests along dimension 0 (one fresh buffer). */
export function concatTensors(parts: readonly InferTensor[]): InferTensor {
  const first = parts[0];
  if (!first) throw new Error('concatTensors: nothing to concatenate');
  if (parts.length === 1) return first;
  const rows = parts.reduce((n, p) => n + (p.shape[0] ?? 0), 0);
  const shape = [rows, ...first.shape.slice(1)];
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  let data: TensorData;
  if (Array.isArray(first.data)) {
    data = (parts as InferTensor[]).flatMap((p) => p.data as unknown[]) as TensorData;
  } else {
    const Ctor = (first.data as Float32Array).constructor as Float32ArrayConstructor;
    const out = new Ctor(total);
    let at = 0;
    for (const p of parts) {
      out.set(p.data as unknown as Float32Array, at);
      at += p.data.length;
    }
    data = out as unknown as TensorData;
  }
  return { name: first.name, datatype: first.datatype, shape, data };
}

/** Concatenates the inputs of several requests (each in the same input order) along dimension 0. */
export function concatRequests(requests: readonly (readonly InferTensor[])[]): InferTensor[] {
  const first = requests[0];
  if (!first) return [];
  return first.map((_, i) => concatTensors(requests.map((r) => r[i]!)));
}

/**
 * Splits batched outputs back per request: `rows[k]` rows go to request k.
 * Returns null when some output's first dimension is not the batch (its size
 * differs from the total rows), in which case the caller must not split.
 */
export function splitOutputs(outputs: readonly InferTensor[], rows: readonly number[]): InferTensor[][] | null {
  const total = rows.reduce((a, b) => a + b, 0);
  for (const o of outputs) {
    if (o.shape.length === 0 || o.shape[0] !== total) return null;
    if (o.data.length !== product(o.shape)) return null;
  }
  const result: InferTensor[][] = rows.map(() => []);
  for (const o of outputs) {
    const tail = o.shape.slice(1);
    const rowSize = product(tail);
    let at = 0;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      result[k]!.push({ name: o.name, datatype: o.datatype, shape: [r, ...tail], data: rowsOf(o.data, at * rowSize, (at + r) * rowSize) });
      at += r;
    }
  }
  return result;
}

const fmtNum = (n: number): string => {
  if (!Number.isFinite(n)) return String(n);
  if (n !== 0 && Math.abs(n) < 1e-3) return n.toExponential(1);
  return String(Number(n.toPrecision(4)));
};

/**
 * Compares outputs to the smoke expectations: same names and shapes, integers
 * (and booleans, strings) exactly, floats within tolerance. Returns the problems.
 */
export function compareOutputs(actual: readonly InferTensor[], expected: readonly Tensor[], tolerance: number): string[] {
  const problems: string[] = [];
  for (const exp of expected) {
    const got = actual.find((t) => t.name === exp.name);
    if (!got) {
      problems.push(`output ${exp.name} missing (model gave: ${actual.map((t) => t.name).join(', ') || 'none'})`);
      continue;
    }
    if (fmtShape(got.shape) !== fmtShape(exp.shape) || got.data.length !== exp.data.length) {
      problems.push(`${exp.name} shape ${fmtShape(got.shape)} != expected ${fmtShape(exp.shape)}`);
      continue;
    }
    const gotAt = (i: number): unknown => (got.data as ArrayLike<unknown>)[i];
    if (EXACT_TYPES.has(exp.datatype)) {
      const asText = (v: unknown): string => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
      let first = -1;
      let count = 0;
      exp.data.forEach((v, i) => {
        if (asText(gotAt(i)) !== asText(v)) {
          count++;
          if (first < 0) first = i;
        }
      });
      if (count > 0) {
        problems.push(`${exp.name}: ${count} of ${exp.data.length} values differ (first [${first}]: ${String(gotAt(first))} vs expected ${String(exp.data[first])})`);
      }
      continue;
    }
    let worst = -1;
    let worstDiff = 0;
    exp.data.forEach((v, i) => {
      const diff = Math.abs(Number(gotAt(i)) - Number(v));
      const d = Number.isNaN(diff) ? Infinity : diff;
      if (worst < 0 || d > worstDiff) [worst, worstDiff] = [i, d];
    });
    if (worstDiff > tolerance) {
      problems.push(`${exp.name} max |diff| ${fmtNum(worstDiff)} at [${worst}] (${fmtNum(Number(gotAt(worst)))} vs expected ${fmtNum(Number(exp.data[worst]))}) > tolerance ${fmtNum(tolerance)}`);
    }
  }
  return problems;
}

/**
 * Compares the signature the manifest declares with the one the model file
 * reports; returns the disagreements (names, datatypes, ranks, fixed dims).
 */
export function compareSignatures(declared: ModelSignature, actual: ModelSignature): string[] {
  const problems: string[] = [];
  const side = (kind: 'input' | 'output', want: readonly TensorSpec[], have: readonly TensorSpec[]): void => {
    for (const w of want) {
      const h = have.find((s) => s.name === w.name);
      if (!h) {
        problems.push(`manifest ${kind} ${w.name} is not in the model (model ${kind}s: ${have.map((s) => s.name).join(', ') || 'none'})`);
        continue;
      }
      const dimsAgree = w.shape.length === h.shape.length && w.shape.every((d, i) => d < 0 || h.shape[i]! < 0 || d === h.shape[i]);
      if (w.datatype !== h.datatype || !dimsAgree) {
        problems.push(`manifest ${kind} ${w.name} is ${w.datatype}${fmtShape(w.shape)}, the model says ${h.datatype}${fmtShape(h.shape)}`);
      }
    }
  };
  side('input', declared.inputs, actual.inputs);
  for (const h of actual.inputs) {
    if (!declared.inputs.some((w) => w.name === h.name)) problems.push(`model input ${h.name} is missing from the manifest`);
  }
  side('output', declared.outputs, actual.outputs);
  return problems;
}
