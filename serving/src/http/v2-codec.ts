import type { FastifyRequest } from 'fastify';
import { isDatatype } from '@cd4ml/onnx';
import type { InferResult, InferTensor, ServedModel } from '../model/types.ts';
import { BadRequest, elementCount, fromBinary, fromJson, jsonDataText, toBinary } from './tensors.ts';

// The OIP v2 REST wire format of an inference: the JSON request (with the binary
// tensor data extension) decoded to tensors, and the response encoded back.

export const BINARY_HEADER = 'inference-header-content-length';

export const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

interface RequestedOutput {
  name: string;
  binary: boolean | undefined;
}

export interface ParsedInfer {
  id: string | undefined;
  inputs: InferTensor[];
  outputs: RequestedOutput[] | undefined;
  binaryAll: boolean;
}

/** The JSON part of a request and, with the binary extension, the bytes after it. */
export function splitBody(req: FastifyRequest): { json: unknown; binary: Buffer | null } {
  const body = req.body as Buffer | undefined;
  if (!body || body.length === 0) throw new BadRequest('request body is empty');
  const hdr = req.headers[BINARY_HEADER];
  let text: Buffer = body;
  let binary: Buffer | null = null;
  if (hdr !== undefined) {
    const raw = Array.isArray(hdr) ? hdr[0] : hdr;
    const n = /^\d+$/.test(raw?.trim() ?? '') ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0 || n > body.length) {
      throw new BadRequest(`Inference-Header-Content-Length must be an integer between 1 and the body size ${body.length}, got ${JSON.stringify(raw)}`);
    }
    text = body.subarray(0, n);
    binary = body.subarray(n);
  } else if (/^application\/octet-stream/i.test(req.headers['content-type'] ?? '')) {
    throw new BadRequest('a binary request body needs the Inference-Header-Content-Length header (size of its JSON part)');
  }
  try {
    return { json: JSON.parse(text.toString('utf8')) as unknown, binary };
  } catch (err) {
    throw new BadRequest(`malformed JSON: ${(err as Error).message}`);
  }
}

function optionalBool(params: Record<string, unknown>, key: string, what: string): boolean | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new BadRequest(`${what}: parameter "${key}" must be true or false`);
  return v;
}

function parametersOf(x: Record<string, unknown>, what: string): Record<string, unknown> {
  if (x.parameters === undefined) return {};
  if (!isObject(x.parameters)) throw new BadRequest(`${what}: "parameters" must be an object`);
  return x.parameters;
}

export function parseInferRequest(json: unknown, binary: Buffer | null): ParsedInfer {
  if (!isObject(json)) throw new BadRequest('the inference request must be a JSON object with "inputs"');
  if (json.id !== undefined && typeof json.id !== 'string') throw new BadRequest('"id" must be a string');
  const params = parametersOf(json, 'request');
  const binaryAll = optionalBool(params, 'binary_data_output', 'request') ?? false;
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) throw new BadRequest('"inputs" must be a non-empty array');

  let offset = 0;
  const inputs: InferTensor[] = new Array(json.inputs.length);
  for (let i = 0; i < json.inputs.length; i++) {
    const x: unknown = json.inputs[i];
    if (!isObject(x)) throw new BadRequest(`inputs[${i}] must be an object`);
    if (typeof x.name !== 'string' || x.name === '') throw new BadRequest(`inputs[${i}]: "name" must be a non-empty string`);
    const what = `input "${x.name}"`;
    for (let j = 0; j < i; j++) if (inputs[j]!.name === x.name) throw new BadRequest(`${what} appears twice`);
    if (!isDatatype(x.datatype)) throw new BadRequest(`${what}: "datatype" must be one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES; got ${JSON.stringify(x.datatype)}`);
    elementCount(x.shape, what);
    const shape = x.shape as number[];
    const p = parametersOf(x, what);
    if (p.binary_data_size !== undefined) {
      const size = p.binary_data_size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new BadRequest(`${what}: "binary_data_size" must be a non-negative integer`);
      if (x.data !== undefined) throw new BadRequest(`${what}: has both "data" and "binary_data_size"`);
      if (!binary) throw new BadRequest(`${what}: "binary_data_size" needs the Inference-Header-Content-Length header`);
      if (offset + size > binary.length) throw new BadRequest(`${what}: binary_data_size ${size} runs past the end of the body (${binary.length - offset} bytes left)`);
      const data = fromBinary(x.datatype, shape, binary.subarray(offset, offset + size), what);
      offset += size;
      inputs[i] = { name: x.name, datatype: x.datatype, shape, data };
      continue;
    }
    if (x.data === undefined) throw new BadRequest(`${what}: "data" is missing`);
    inputs[i] = { name: x.name, datatype: x.datatype, shape, data: fromJson(x.datatype, shape, x.data, what) };
  }
  if (binary && offset !== binary.length) {
    throw new BadRequest(`binary data: the inputs' binary_data_size add up to ${offset} bytes, the body carries ${binary.length} after the JSON header`);
  }

  let outputs: RequestedOutput[] | undefined;
  if (json.outputs !== undefined) {
    if (!Array.isArray(json.outputs)) throw new BadRequest('"outputs" must be an array');
    const names = new Set<string>();
    outputs = json.outputs.map((o: unknown, i: number) => {
      if (!isObject(o) || typeof o.name !== 'string' || o.name === '') throw new BadRequest(`outputs[${i}] must be an object with a "name"`);
      const what = `output "${o.name}"`;
      if (names.has(o.name)) throw new BadRequest(`${what} is requested twice`);
      names.add(o.name);
      const p = parametersOf(o, what);
      if (p.classification !== undefined) throw new BadRequest(`${what}: the classification extension is not supported`);
      return { name: o.name, binary: optionalBool(p, 'binary_data', what) };
    });
  }
  return { id: json.id as string | undefined, inputs, outputs, binaryAll };
}

/** `{"model_name":..,"model_version":..` per served release: the same for every response. */
const responseHeads = new WeakMap<ServedModel, string>();
/** `{"name":..,"datatype":..,"shape":` per output name and datatype. */
const outputHeads = new Map<string, string>();

/**
 * The OIP v2 response for one inference, written by hand: JSON.stringify
 * over boxed copies of the output tensors was the largest cost of a request
 * after parsing it. With binary outputs, `binary` holds their bytes in order.
 */
export function inferResponse(result: InferResult, p: ParsedInfer): { text: string; binary: Uint8Array[] | null } {
  let head = responseHeads.get(result.model);
  if (head === undefined) {
    head = `{"model_name":${JSON.stringify(result.model.name)},"model_version":${JSON.stringify(result.model.version)}`;
    responseHeads.set(result.model, head);
  }
  let text = p.id !== undefined ? `${head},"id":${JSON.stringify(p.id)},"outputs":[` : `${head},"outputs":[`;
  let binary: Uint8Array[] | null = null;
  const n = p.outputs ? p.outputs.length : result.outputs.length;
  for (let i = 0; i < n; i++) {
    let tensor: InferTensor | undefined;
    let asBinary = p.binaryAll;
    if (p.outputs) {
      const want = p.outputs[i]!;
      for (const t of result.outputs) if (t.name === want.name) tensor = t;
      if (!tensor) throw new Error(`the model side returned no output "${want.name}"`);
      if (want.binary !== undefined) asBinary = want.binary;
    } else tensor = result.outputs[i]!;
    const key = `${tensor.name}\u0000${tensor.datatype}`;
    let outHead = outputHeads.get(key);
    if (outHead === undefined) {
      outHead = `{"name":${JSON.stringify(tensor.name)},"datatype":${JSON.stringify(tensor.datatype)},"shape":`;
      if (outputHeads.size < 1024) outputHeads.set(key, outHead);
    }
    text += `${i > 0 ? ',' : ''}${outHead}[${tensor.shape.join(',')}]`;
    if (asBinary) {
      const bytes = toBinary(tensor);
      (binary ??= []).push(bytes);
      text += `,"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      text += `,"data":${jsonDataText(tensor)}}`;
    }
  }
  return { text: `${text}]}`, binary };
}

