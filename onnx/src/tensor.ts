import type { Datatype, TensorSpec } from '@cd4ml/contracts';
import type { TypedArray } from './datatypes.ts';

// A tensor as it travels between threads and into onnxruntime: the OIP layout
// (name, datatype, shape, flat row-major data), the data in its typed array.

/** Typed arrays for numbers and BOOL (0/1 bytes); string[] for BYTES; boolean[] only as request input (converted on validation). */
export type TensorData = TypedArray | boolean[] | string[];

export interface TypedTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** Inputs and outputs of a model; a shape entry of -1 is a free dimension (e.g. the batch). */
export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export const shapeText = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** `input FP32[-1,4]`, as messages name a tensor spec. */
export const specText = (s: TensorSpec): string => `${s.name} ${s.datatype}${shapeText(s.shape)}`;

export const elementsOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
