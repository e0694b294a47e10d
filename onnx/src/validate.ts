import type { TensorSpec } from '@cd4ml/contracts';
import { toTypedData } from './convert.ts';
import { InputError } from './errors.ts';
import { elementsOf, shapeText, specText, type ModelSignature, type TensorData, type TypedTensor } from './tensor.ts';

// Inputs checked against a model's signature before they reach onnxruntime,
// whose own errors name neither the expected shape nor the offending value.
// Loops, not Maps or closures: a model has a handful of inputs and serving
// runs this for every request.

/** What a request or a batch names: data is checked by validateInputs only. */
interface NamedInput {
  name: string;
  datatype: string;
  shape: readonly number[];
}

export interface ValidInputs {
  /** Inputs in the model's order, data in the datatype's typed array. */
  inputs: TypedTensor[];
  /** Requested output names, or undefined for all. */
  outputs: string[] | undefined;
  /** Size of the first dimension (the batch rows) when the model is batchable, else 1. */
  rows: number;
}

const takes = (model: ModelSignature): string => `the model takes ${model.inputs.map(specText).join(', ') || 'no inputs'}`;

/** The first dimension of every input and output is free (-1), so requests can be stacked along it. */
export function batchable(model: ModelSignature): boolean {
  const specs = [...model.inputs, ...model.outputs];
  return model.inputs.length > 0 && specs.every((s) => s.shape.length > 0 && s.shape[0] === -1);
}

function specOf(specs: readonly TensorSpec[], name: string): TensorSpec | undefined {
  for (const s of specs) if (s.name === name) return s;
  return undefined;
}

function checkShape(spec: TensorSpec, shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new InputError(`input "${spec.name}": shape must be a list of non-negative integers`);
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new InputError(`input "${spec.name}": shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (shape.length !== spec.shape.length) misfit(spec, shape, `rank ${shape.length}, the model's is ${spec.shape.length}`);
  for (let i = 0; i < spec.shape.length; i++) {
    const want = spec.shape[i]!;
    if (want >= 0 && shape[i] !== want) misfit(spec, shape, `dimension ${i} is ${shape[i]}, must be ${want}; -1 is free`);
  }
}

/** Built only when thrown: the checks run twice per request. */
function misfit(spec: TensorSpec, shape: readonly number[], why: string): never {
  throw new InputError(`input "${spec.name}": shape ${shapeText(shape)} does not fit the model's ${shapeText(spec.shape)} (${why})`);
}

/**
 * Names, datatypes and shapes of the inputs, and the requested output names,
 * against the model's signature; the data is not looked at. Throws InputError.
 */
export function checkSignature(model: ModelSignature, inputs: readonly NamedInput[], outputs?: readonly string[]): void {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new InputError(`no inputs given; ${takes(model)}`);
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    if (t === null || typeof t !== 'object' || typeof t.name !== 'string') throw new InputError('every input needs a name');
    for (let j = 0; j < i; j++) if (inputs[j]!.name === t.name) throw new InputError(`input "${t.name}" given twice`);
    const spec = specOf(model.inputs, t.name);
    if (!spec) throw new InputError(`unknown input "${t.name}"; ${takes(model)}`);
    if (t.datatype !== spec.datatype) throw new InputError(`input "${t.name}": datatype ${String(t.datatype)}, the model takes ${spec.datatype}`);
    checkShape(spec, t.shape);
  }
  if (inputs.length < model.inputs.length) {
    for (const s of model.inputs) {
      let given = false;
      for (const t of inputs) if (t.name === s.name) given = true;
      if (!given) throw new InputError(`input "${s.name}" is missing; ${takes(model)}`);
    }
  }
  if (outputs === undefined || outputs === null) return;
  if (!Array.isArray(outputs)) throw new InputError('outputs must be a list of output names');
  for (const name of outputs) {
    if (!specOf(model.outputs, name)) {
      throw new InputError(`unknown output "${String(name)}"; the model has ${model.outputs.map((s) => s.name).join(', ')}`);
    }
  }
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView));
}

/**
 * Checks inputs against the model's signature and converts their data into
 * the datatypes' typed arrays (see toTypedData). Throws InputError naming the
 * input and what the model expects.
 */
export function validateInputs(
  model: ModelSignature,
  request: { inputs: readonly { name: string; datatype: string; shape: readonly number[]; data: unknown }[]; outputs?: readonly string[] | undefined },
  isBatchable = batchable(model),
): ValidInputs {
  checkSignature(model, request.inputs, request.outputs);
  const inputs: TypedTensor[] = [];
  let rows: number | undefined;
  for (const spec of model.inputs) {
    let t = request.inputs[0]!;
    for (const x of request.inputs) if (x.name === spec.name) t = x;
    if (!isArrayLike(t.data)) throw new InputError(`input "${spec.name}": data must be a list of values`);
    const count = elementsOf(t.shape);
    if (t.data.length !== count) {
      throw new InputError(`input "${spec.name}": ${t.data.length} values for shape ${shapeText(t.shape)}, which needs ${count}`);
    }
    if (isBatchable) {
      const r = t.shape[0]!;
      if (rows === undefined) rows = r;
      else if (r !== rows) throw new InputError(`input "${spec.name}": ${r} rows (first dimension), other inputs have ${rows}`);
    }
    const data: TensorData = toTypedData(spec.name, spec.datatype, t.data);
    // Already typed (the HTTP layer converts while parsing): keep the caller's tensor, no copy.
    inputs.push(data === t.data ? (t as TypedTensor) : { name: spec.name, datatype: spec.datatype, shape: [...t.shape], data });
  }
  const outputs = request.outputs && request.outputs.length > 0 ? [...new Set(request.outputs)] : undefined;
  return { inputs, outputs, rows: isBatchable ? (rows ?? 0) : 1 };
}

/**
 * The signature a manifest declares against the one the model file reports:
 * the disagreements (names, datatypes, ranks, fixed dimensions).
 */
export function compareSignatures(declared: ModelSignature, actual: ModelSignature): string[] {
  const problems: string[] = [];
  const side = (kind: 'input' | 'output', want: readonly TensorSpec[], have: readonly TensorSpec[]): void => {
    for (const w of want) {
      const h = specOf(have, w.name);
      if (!h) {
        problems.push(`manifest ${kind} ${w.name} is not in the model (model ${kind}s: ${have.map((s) => s.name).join(', ') || 'none'})`);
        continue;
      }
      const dimsAgree = w.shape.length === h.shape.length && w.shape.every((d, i) => d < 0 || h.shape[i]! < 0 || d === h.shape[i]);
      if (w.datatype !== h.datatype || !dimsAgree) {
        problems.push(`manifest ${kind} ${w.name} is ${w.datatype}${shapeText(w.shape)}, the model says ${h.datatype}${shapeText(h.shape)}`);
      }
    }
  };
  side('input', declared.inputs, actual.inputs);
  for (const h of actual.inputs) {
    if (!specOf(declared.inputs, h.name)) problems.push(`model input ${h.name} is missing from the manifest`);
  }
  side('output', declared.outputs, actual.outputs);
  return problems;
}
