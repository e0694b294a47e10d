import { Datatype } from '@cd4ml/contracts';
import type { Tensor as OrtTensor } from 'onnxruntime-node';

// The one table of element types: Open Inference Protocol v2 datatype <->
// onnxruntime's type name <-> the typed array holding the values. A type-only
// import of onnxruntime-node: the main thread never loads the native binding.

export type TypedArray =
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array
  | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;

export type TypedArrayConstructor =
  | Float32ArrayConstructor | Float64ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor
  | Int32ArrayConstructor | Int16ArrayConstructor | Int8ArrayConstructor
  | Uint8ArrayConstructor | Uint16ArrayConstructor | Uint32ArrayConstructor;

export interface DatatypeInfo {
  /** onnxruntime's name of the element type. */
  ort: OrtTensor.Type;
  /** The typed array holding the values (BOOL as 0/1 bytes, FP16 as raw half bits); null for BYTES (a string[]). */
  array: TypedArrayConstructor | null;
  /** Floats compare within a tolerance; everything else exactly. */
  float: boolean;
}

export const DATATYPES: Readonly<Record<Datatype, DatatypeInfo>> = {
  BOOL: { ort: 'bool', array: Uint8Array, float: false },
  UINT8: { ort: 'uint8', array: Uint8Array, float: false },
  UINT16: { ort: 'uint16', array: Uint16Array, float: false },
  UINT32: { ort: 'uint32', array: Uint32Array, float: false },
  UINT64: { ort: 'uint64', array: BigUint64Array, float: false },
  INT8: { ort: 'int8', array: Int8Array, float: false },
  INT16: { ort: 'int16', array: Int16Array, float: false },
  INT32: { ort: 'int32', array: Int32Array, float: false },
  INT64: { ort: 'int64', array: BigInt64Array, float: false },
  FP16: { ort: 'float16', array: Uint16Array, float: true },
  FP32: { ort: 'float32', array: Float32Array, float: true },
  FP64: { ort: 'float64', array: Float64Array, float: true },
  BYTES: { ort: 'string', array: null, float: false },
};

const NAMES = Datatype.options;

export const isDatatype = (x: unknown): x is Datatype => typeof x === 'string' && (NAMES as readonly string[]).includes(x);

/** OIP datatype -> onnxruntime type name: plain data, so the worker thread gets it through workerData. */
export const ORT_TYPES = Object.fromEntries(NAMES.map((d) => [d, DATATYPES[d].ort])) as Record<Datatype, OrtTensor.Type>;

/** Bytes per element in the binary layout (0 for BYTES, whose elements vary). */
export const elementBytes = (datatype: Datatype): number => DATATYPES[datatype].array?.BYTES_PER_ELEMENT ?? 0;

/** The data is already the typed array the datatype is held in. */
export const isHeldAs = (datatype: Datatype, data: unknown): boolean => {
  const array = DATATYPES[datatype].array;
  return array === null ? Array.isArray(data) : data instanceof array;
};
