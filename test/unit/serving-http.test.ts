import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReleaseManifest } from '@cd4ml/contracts';
import { buildServer } from '../../serving/src/http/server.ts';
import { startServing } from '../../serving/src/serve.ts';
import {
  InferenceError, type InferResult, type InferTensor, type ModelRegistry, type RefusedRelease, type ServedModel,
} from '../../serving/src/model/types.ts';

// Conformance tests for the HTTP side, written from the Open Inference
// Protocol v2 REST spec (and its binary tensor data extension), against a
// fake ModelRegistry: the boundary the model side implements for real.

const FEATURES = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'];
const CLASSES = ['Adelie', 'Chinstrap', 'Gentoo'];

const manifest = (tag: string): ReleaseManifest =>
  ({
    schemaVersion: 1,
    tag,
    project: 'penguins',
    createdAt: '2025-01-01T00:00:00.000Z',
    git: { repoUrl: 'file:///repo', branch: 'main', commit: 'c0ffee', tagCommit: 'c0ffee' },
    model: {
      file: 'model.onnx',
      sha256: '0'.repeat(64),
      bytes: 1,
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
      ],
      features: FEATURES,
      classes: CLASSES,
    },
  }) as unknown as ReleaseManifest;

/** A fake model: probabilities = the first three features normalised, label = argmax. */
class FakeRegistry implements ModelRegistry {
  readonly name = 'penguins';
  isReady = true;
  served: ServedModel[] = [{ name: 'penguins', version: 'v2', manifest: manifest('v2'), loadedAt: 0 }];
  refusedList: RefusedRelease[] = [{ version: 'v3', reason: 'sha256 mismatch', at: 1 }];
  requests: Array<{ version?: string; inputs: InferTensor[]; outputs?: string[] }> = [];
  fail: Error | null = null;
  delayMs = 0;
  ready(): boolean { return this.isReady; }
  current(): ServedModel | null { return this.served[0] ?? null; }
  versions(): ServedModel[] { return this.served; }
  refused(): RefusedRelease[] { return this.refusedList; }
  async infer(request: { version?: string; inputs: InferTensor[]; outputs?: string[] }): Promise<InferResult> {
    this.requests.push(request);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw this.fail;
    const model = request.version ? this.served.find((s) => s.version === request.version)! : this.served[0]!;
    const x = request.inputs[0]!.data as Float32Array;
    const rows = request.inputs[0]!.shape[0]!;
    const label = new BigInt64Array(rows);
    const probabilities = new Float32Array(rows * 3);
    for (let i = 0; i < rows; i++) {
      const v = [x[i * 4]!, x[i * 4 + 1]!, x[i * 4 + 2]!].map(Math.abs);
      const sum = v[0]! + v[1]! + v[2]! || 1;
      v.forEach((p, j) => (probabilities[i * 3 + j] = p / sum));
      label[i] = BigInt(v.indexOf(Math.max(...v)));
    }
    const all: InferTensor[] = [
      { name: 'label', datatype: 'INT64', shape: [rows], data: label },
      { name: 'probabilities', datatype: 'FP32', shape: [rows, 3], data: probabilities },
    ];
    const outputs = request.outputs ? all.filter((t) => request.outputs!.includes(t.name)) : all;
    return { model, outputs, queueMs: 1.5, batchSize: rows * 2 };
  }
  async close(): Promise<void> { this.isReady = false; }
}

const ROWS = [
  [1, 2, 3, 4000],
  [6, 5, 4, 3000],
];

/** A binary-extension body: JSON header, then the raw tensor bytes. */
function binaryBody(header: unknown, ...tensors: Uint8Array[]): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, ...tensors.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength))]), headerLength: json.length };
}

/** Splits a binary response into its JSON header and the bytes of each binary output. */
function decodeBinaryResponse(raw: Buffer, headerLength: number): { header: any; tensors: Record<string, Buffer> } {
  const header = JSON.parse(raw.subarray(0, headerLength).toString('utf8'));
  const tensors: Record<string, Buffer> = {};
  let off = headerLength;
  for (const o of header.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    tensors[o.name] = raw.subarray(off, off + size);
    off += size;
  }
  expect(off).toBe(raw.length);
  return { header, tensors };
}

const f32 = (b: Buffer): number[] => Array.from(new Float32Array(Uint8Array.from(b).buffer));
const i64 = (b: Buffer): number[] => Array.from(new BigInt64Array(Uint8Array.from(b).buffer), Number);

let registry: FakeRegistry;
let app: ReturnType<typeof buildServer>;

beforeEach(async () => {
  registry = new FakeRegistry();
  app = buildServer(registry, { bodyLimitBytes: 64 * 1024, defaultMetrics: false });
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

const infer = (payload: unknown, path = '/v2/models/penguins/infer') =>
  app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

const jsonRequest = (extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }],
  ...extra,
});

describe('OIP v2 health and metadata', () => {
  it('live, ready and not ready', async () => {
    expect((await app.inject('/v2/health/live')).json()).toEqual({ live: true });
    const ready = await app.inject('/v2/health/ready');
    expect([ready.statusCode, ready.json()]).toEqual([200, { ready: true }]);
    registry.isReady = false;
    const unready = await app.inject('/v2/health/ready');
    expect([unready.statusCode, unready.json()]).toEqual([503, { ready: false }]);
  });

  it('server metadata names the binary extension', async () => {
    const r = await app.inject('/v2');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ name: 'cd4ml', version: '0.1.0', extensions: ['binary_tensor_data'] });
  });

  it('model metadata from the manifest, with refused releases visible', async () => {
    for (const url of ['/v2/models/penguins', '/v2/models/penguins/versions/v2']) {
      const r = await app.inject(url);
      expect(r.statusCode).toBe(200);
      const m = r.json();
      expect(m).toMatchObject({
        name: 'penguins',
        versions: ['v2'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
      });
      expect(m.cd4ml).toMatchObject({ version: 'v2', features: FEATURES, classes: CLASSES });
      expect(m.cd4ml.refused).toEqual([{ version: 'v3', reason: 'sha256 mismatch', at: new Date(1).toISOString() }]);
    }
  });

  it('unknown model or version: 404 with an error body', async () => {
    for (const url of ['/v2/models/nope', '/v2/models/penguins/versions/v9', '/v2/models/nope/ready', '/v2/models/penguins/versions/v9/ready']) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(404);
      expect(typeof r.json().error).toBe('string');
    }
    const refused = await app.inject('/v2/models/penguins/versions/v3');
    expect(refused.statusCode).toBe(404);
    expect(refused.json().error).toMatch(/refused: sha256 mismatch/);
  });

  it('model ready: 200, or 503 when not ready', async () => {
    const r = await app.inject('/v2/models/penguins/ready');
    expect([r.statusCode, r.json()]).toEqual([200, { name: 'penguins', ready: true }]);
    expect((await app.inject('/v2/models/penguins/versions/v2/ready')).statusCode).toBe(200);
    registry.isReady = false;
    const n = await app.inject('/v2/models/penguins/ready');
    expect([n.statusCode, n.json()]).toEqual([503, { name: 'penguins', ready: false }]);
  });

  it('no release yet: metadata answers 503 naming the refusal', async () => {
    registry.served = [];
    registry.isReady = false;
    const r = await app.inject('/v2/models/penguins');
    expect(r.statusCode).toBe(503);
    expect(r.json().error).toMatch(/no release serving yet.*v3 was refused: sha256 mismatch/);
  });

  it('unknown routes answer 404 with an error body', async () => {
    const r = await app.inject('/v2/nothing/here');
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ error: 'no route GET /v2/nothing/here' });
  });
});

describe('OIP v2 inference, JSON', () => {
  it('flat data: typed tensor in, INT64 as JSON numbers out, id echoed', async () => {
    const r = await infer(jsonRequest({ id: 'req-1' }));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json();
    expect(body).toMatchObject({ model_name: 'penguins', model_version: 'v2', id: 'req-1' });
    expect(body.outputs.map((o: any) => [o.name, o.datatype, o.shape])).toEqual([['label', 'INT64', [2]], ['probabilities', 'FP32', [2, 3]]]);
    expect(body.outputs[0].data).toEqual([2, 0]);
    expect(body.outputs[1].data[0]).toBeCloseTo(1 / 6, 6);
    const sent = registry.requests[0]!;
    expect(sent.inputs[0]!.data).toBeInstanceOf(Float32Array);
    expect(Array.from(sent.inputs[0]!.data as Float32Array)).toEqual(ROWS.flat());
    expect(sent.version).toBeUndefined();
  });

  it('nested (row-major) data is flattened', async () => {
    const r = await infer({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: ROWS }] });
    expect(r.statusCode).toBe(200);
    expect(Array.from(registry.requests[0]!.inputs[0]!.data as Float32Array)).toEqual(ROWS.flat());
  });

  it('no id in, no id out; requested outputs only, in request order; versioned path', async () => {
    const r = await infer(jsonRequest({ outputs: [{ name: 'probabilities' }] }), '/v2/models/penguins/versions/v2/infer');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.id).toBeUndefined();
    expect(body.outputs.map((o: any) => o.name)).toEqual(['probabilities']);
    expect(registry.requests[0]).toMatchObject({ version: 'v2', outputs: ['probabilities'] });
  });

  const bad: Array<[string, unknown, number, RegExp]> = [
    ['malformed JSON', '{"inputs": [', 400, /malformed JSON/],
    ['NaN literal', '{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[NaN,1,2,3]}]}', 400, /malformed JSON/],
    ['not an object', '[1,2]', 400, /JSON object/],
    ['no inputs', { inputs: [] }, 400, /"inputs" must be a non-empty array/],
    ['wrong input name', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /unknown input "x"/],
    ['wrong datatype', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP64', data: [1, 2, 3, 4] }] }, 400, /datatype FP64, the model takes FP32/],
    ['unknown datatype', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FLOAT', data: [1, 2, 3, 4] }] }, 400, /"datatype" must be one of/],
    ['element count', { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /needs 8 elements, "data" has 4/],
    ['shape vs model', { inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }, 400, /does not fit the model's \[-1,4\]/],
    ['negative shape', { inputs: [{ name: 'features', shape: [-1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /non-negative integers/],
    ['"NaN" string', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: ['NaN', 1, 2, 3] }] }, 400, /element 0 is "NaN", expected a finite number/],
    ['string number', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, '2', 3, 4] }] }, 400, /element 1 is "2"/],
    ['"Infinity" string', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 'Infinity', 4] }] }, 400, /element 2/],
    ['FP32 overflow', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1e39, 2, 3, 4] }] }, 400, /FP32 range/],
    ['null element', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [null, 2, 3, 4] }] }, 400, /element 0 is null/],
    ['missing data', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32' }] }, 400, /"data" is missing/],
    ['missing shape', { inputs: [{ name: 'features', datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /"shape" must be an array/],
    ['missing name', { inputs: [{ shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /"name" must be a non-empty string/],
    ['duplicate input', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }, { name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /appears twice/],
    ['unknown output', { ...jsonRequest(), outputs: [{ name: 'logits' }] }, 400, /unknown output "logits"/],
    ['id not a string', { ...jsonRequest(), id: 7 }, 400, /"id" must be a string/],
    ['too deep', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[[1, 2, 3, 4]]] }] }, 400, /nested deeper/],
    ['binary size without header', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, 400, /Inference-Header-Content-Length/],
  ];
  it.each(bad)('bad input: %s', async (_what, payload, status, message) => {
    const r = await infer(payload);
    expect(r.statusCode).toBe(status);
    const body = r.json();
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatch(message);
    expect(registry.requests).toHaveLength(0);
    // ... and the server keeps serving.
    expect((await infer(jsonRequest())).statusCode).toBe(200);
  });

  it('empty body and other content types', async () => {
    const empty = await app.inject({ method: 'POST', url: '/v2/models/penguins/infer' });
    expect([empty.statusCode, empty.json()]).toEqual([400, { error: 'request body is empty' }]);
    const text = await app.inject({ method: 'POST', url: '/v2/models/penguins/infer', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(jsonRequest()) });
    expect(text.statusCode).toBe(200);
    const octet = await app.inject({ method: 'POST', url: '/v2/models/penguins/infer', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('xx') });
    expect(octet.statusCode).toBe(400);
    expect(octet.json().error).toMatch(/Inference-Header-Content-Length/);
  });

  it('body over the limit: 413', async () => {
    const big = { inputs: [{ name: 'features', shape: [5000, 4], datatype: 'FP32', data: new Array(20000).fill(1.2345) }] };
    const r = await infer(big);
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatch(/larger than the limit of 65536 bytes/);
    expect((await infer(jsonRequest())).statusCode).toBe(200);
  });

  it('unknown model or version: 404; not ready: 503', async () => {
    const m = await infer(jsonRequest(), '/v2/models/other/infer');
    expect(m.statusCode).toBe(404);
    expect(m.json().error).toMatch(/unknown model "other"/);
    const v = await infer(jsonRequest(), '/v2/models/penguins/versions/v1/infer');
    expect(v.statusCode).toBe(404);
    expect(v.json().error).toMatch(/unknown version "v1"/);
    registry.isReady = false;
    const n = await infer(jsonRequest());
    expect([n.statusCode, n.json()]).toEqual([503, { error: 'penguins is not ready' }]);
  });

  it('maps InferenceError from the registry; other errors are 500 and the server lives on', async () => {
    for (const status of [400, 404, 503] as const) {
      registry.fail = new InferenceError(status, `model says ${status}`);
      const r = await infer(jsonRequest());
      expect([r.statusCode, r.json()]).toEqual([status, { error: `model says ${status}` }]);
    }
    registry.fail = new Error('session exploded at /secret/path');
    const r = await infer(jsonRequest());
    expect([r.statusCode, r.json()]).toEqual([500, { error: 'internal error' }]);
    registry.fail = null;
    expect((await infer(jsonRequest())).statusCode).toBe(200);
  });

  it('other datatypes from JSON: BOOL, INT64, UINT8, BYTES, FP16', async () => {
    const spec = registry.served[0]!.manifest.model;
    spec.inputs = [
      { name: 'b', datatype: 'BOOL', shape: [2] },
      { name: 'i', datatype: 'INT64', shape: [2] },
      { name: 'u', datatype: 'UINT8', shape: [2] },
      { name: 's', datatype: 'BYTES', shape: [2] },
      { name: 'h', datatype: 'FP16', shape: [2] },
    ];
    registry.infer = async (req) => {
      registry.requests.push(req);
      return { model: registry.served[0]!, outputs: req.inputs, queueMs: 0, batchSize: 1 };
    };
    const r = await infer({
      inputs: [
        { name: 'b', shape: [2], datatype: 'BOOL', data: [true, false] },
        { name: 'i', shape: [2], datatype: 'INT64', data: [-3, 2 ** 40] },
        { name: 'u', shape: [2], datatype: 'UINT8', data: [0, 255] },
        { name: 's', shape: [2], datatype: 'BYTES', data: ['a', 'pingüino'] },
        { name: 'h', shape: [2], datatype: 'FP16', data: [1.5, -2] },
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    const sent = registry.requests[0]!.inputs;
    expect(sent.map((t) => t.data.constructor.name)).toEqual(['Array', 'BigInt64Array', 'Uint8Array', 'Array', 'Uint16Array']);
    expect(r.json().outputs.map((o: any) => o.data)).toEqual([[true, false], [-3, 2 ** 40], [0, 255], ['a', 'pingüino'], [1.5, -2]]);
    const bad = await infer({ inputs: [{ name: 'u', shape: [1], datatype: 'UINT8', data: [256] }] });
    expect(bad.json().error).toMatch(/element 0 is 256, expected an integer in UINT8 range/);
    const frac = await infer({ inputs: [{ name: 'i', shape: [1], datatype: 'INT64', data: [1.5] }] });
    expect(frac.statusCode).toBe(400);
  });
});

describe('OIP v2 inference, binary tensor data extension', () => {
  const binaryInfer = (body: Buffer, headerLength: number | string, url = '/v2/models/penguins/infer') =>
    app.inject({
      method: 'POST', url,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) },
      payload: body,
    });

  it('binary input decoded as little-endian FP32; binary outputs returned after the JSON header', async () => {
    const x = new Float32Array(ROWS.flat());
    const { body, headerLength } = binaryBody(
      {
        id: 'bin-1',
        inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
        outputs: [{ name: 'label', parameters: { binary_data: true } }, { name: 'probabilities', parameters: { binary_data: false } }],
      },
      new Uint8Array(x.buffer),
    );
    const r = await binaryInfer(body, headerLength);
    expect(r.statusCode, r.body).toBe(200);
    expect(Array.from(registry.requests[0]!.inputs[0]!.data as Float32Array)).toEqual(ROWS.flat());
    expect(r.headers['content-type']).toBe('application/octet-stream');
    const n = Number(r.headers['inference-header-content-length']);
    const { header, tensors } = decodeBinaryResponse(r.rawPayload, n);
    expect(header).toMatchObject({ model_name: 'penguins', model_version: 'v2', id: 'bin-1' });
    expect(header.outputs[0]).toEqual({ name: 'label', datatype: 'INT64', shape: [2], parameters: { binary_data_size: 16 } });
    expect(header.outputs[0].data).toBeUndefined();
    expect(i64(tensors.label!)).toEqual([2, 0]);
    expect(header.outputs[1].data).toHaveLength(6);
  });

  it('request-level binary_data_output returns every output as binary', async () => {
    const x = new Float32Array(ROWS.flat());
    const { body, headerLength } = binaryBody(
      { parameters: { binary_data_output: true }, inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }] },
      new Uint8Array(x.buffer),
    );
    const r = await binaryInfer(body, headerLength);
    expect(r.statusCode).toBe(200);
    const { header, tensors } = decodeBinaryResponse(r.rawPayload, Number(r.headers['inference-header-content-length']));
    expect(header.outputs.map((o: any) => o.parameters.binary_data_size)).toEqual([16, 24]);
    expect(i64(tensors.label!)).toEqual([2, 0]);
    expect(f32(tensors.probabilities!)[0]).toBeCloseTo(1 / 6, 6);
  });

  it('JSON request asking for binary outputs gets a binary response', async () => {
    const r = await infer(jsonRequest({ outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] }));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    const { tensors } = decodeBinaryResponse(r.rawPayload, Number(r.headers['inference-header-content-length']));
    expect(f32(tensors.probabilities!)).toHaveLength(6);
  });

  it('mixes binary and JSON inputs; binary data at an unaligned offset; no content type', async () => {
    const spec = registry.served[0]!.manifest.model;
    spec.inputs = [
      { name: 'features', datatype: 'FP32', shape: [-1, 4] },
      { name: 'tag', datatype: 'BYTES', shape: [2] },
      { name: 'flag', datatype: 'BOOL', shape: [2] },
    ];
    const x = new Float32Array(ROWS.flat());
    const strings = Buffer.concat([Buffer.from([1, 0, 0, 0]), Buffer.from('a'), Buffer.from([3, 0, 0, 0]), Buffer.from('bcd')]);
    const header = {
      inputs: [
        { name: 'tag', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: strings.length } },
        { name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } },
        { name: 'flag', shape: [2], datatype: 'BOOL', data: [true, false] },
      ],
    };
    const { body, headerLength } = binaryBody(header, strings, new Uint8Array(x.buffer));
    const r = await app.inject({ method: 'POST', url: '/v2/models/penguins/infer', headers: { 'inference-header-content-length': String(headerLength) }, payload: body });
    expect(r.statusCode, r.body).toBe(200);
    const sent = registry.requests[0]!.inputs;
    expect(sent[0]!.data).toEqual(['a', 'bcd']);
    expect(Array.from(sent[1]!.data as Float32Array)).toEqual(ROWS.flat());
    expect(sent[2]!.data).toEqual([true, false]);
  });

  it('bad binary requests: 400 with an error body', async () => {
    const x = new Float32Array(ROWS.flat());
    const good = { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }] };
    const cases: Array<[string, Buffer, number | string, RegExp]> = [
      ['size too small for the shape', binaryBody({ inputs: [{ ...good.inputs[0], parameters: { binary_data_size: 16 } }] }, new Uint8Array(x.buffer.slice(0, 16))).body, binaryBody({ inputs: [{ ...good.inputs[0], parameters: { binary_data_size: 16 } }] }).headerLength, /needs 32 bytes, binary_data_size is 16/],
      ['bytes left over', binaryBody(good, new Uint8Array(x.buffer), new Uint8Array(4)).body, binaryBody(good).headerLength, /add up to 32 bytes, the body carries 36/],
      ['body shorter than sizes', binaryBody(good, new Uint8Array(8)).body, binaryBody(good).headerLength, /runs past the end/],
      ['header length not a number', binaryBody(good, new Uint8Array(x.buffer)).body, 'abc', /Inference-Header-Content-Length must be an integer/],
      ['header length past the body', binaryBody(good, new Uint8Array(x.buffer)).body, 99999, /Inference-Header-Content-Length must be an integer/],
      ['header length cuts the JSON', binaryBody(good, new Uint8Array(x.buffer)).body, 10, /malformed JSON/],
      ['NaN in binary FP32', binaryBody(good, new Uint8Array(new Float32Array([NaN, 1, 2, 3, 4, 5, 6, 7]).buffer)).body, binaryBody(good).headerLength, /element 0 is NaN/],
      ['data and binary_data_size', binaryBody({ inputs: [{ ...good.inputs[0], data: [1] }] }, new Uint8Array(x.buffer)).body, binaryBody({ inputs: [{ ...good.inputs[0], data: [1] }] }).headerLength, /both "data" and "binary_data_size"/],
    ];
    for (const [what, body, n, message] of cases) {
      const r = await binaryInfer(body, n);
      expect(r.statusCode, what).toBe(400);
      expect(r.json().error, what).toMatch(message);
    }
    expect(registry.requests).toHaveLength(0);
  });

  it('over real HTTP: binary request in, binary response out', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const x = new Float32Array(ROWS.flat());
    const { body, headerLength } = binaryBody(
      { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }], outputs: [{ name: 'label', parameters: { binary_data: true } }] },
      new Uint8Array(x.buffer),
    );
    const res = await fetch(`http://127.0.0.1:${port}/v2/models/penguins/infer`, {
      method: 'POST', headers: { 'Inference-Header-Content-Length': String(headerLength) }, body: new Uint8Array(body),
    });
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    const { tensors } = decodeBinaryResponse(raw, Number(res.headers.get('inference-header-content-length')));
    expect(i64(tensors.label!)).toEqual([2, 0]);
  });
});

describe('v1 records route', () => {
  const predict = (payload: unknown, url = '/v1/models/penguins:predict') =>
    app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  const record = (row: number[]) => Object.fromEntries(FEATURES.map((f, i) => [f, row[i]]));

  it('builds the FP32 table in feature order and answers labels and probabilities', async () => {
    // Keys in another order than the manifest's features.
    const shuffled = Object.fromEntries(Object.entries(record(ROWS[0]!)).reverse());
    const r = await predict({ instances: [shuffled, record(ROWS[1]!)] });
    expect(r.statusCode, r.body).toBe(200);
    const sent = registry.requests[0]!;
    expect(sent.inputs[0]).toMatchObject({ name: 'features', datatype: 'FP32', shape: [2, 4] });
    expect(Array.from(sent.inputs[0]!.data as Float32Array)).toEqual(ROWS.flat());
    expect(sent.outputs).toEqual(['label', 'probabilities']);
    const { predictions } = r.json();
    expect(predictions).toHaveLength(2);
    expect(predictions[0].label).toBe('Gentoo');
    expect(predictions[1].label).toBe('Adelie');
    expect(Object.keys(predictions[0].probabilities)).toEqual(CLASSES);
    expect(predictions[0].probabilities.Gentoo).toBeCloseTo(0.5, 6);
  });

  it('works over real HTTP too (the colon in the path)', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/v1/models/penguins:predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [record(ROWS[0]!)] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).predictions[0].label).toBe('Gentoo');
  });

  const bad: Array<[string, unknown, number, RegExp]> = [
    ['missing feature', { instances: [{ bill_length_mm: 1, bill_depth_mm: 2, flipper_length_mm: 3 }] }, 400, /instances\[0\]: missing feature "body_mass_g"/],
    ['non-number', { instances: [{ ...Object.fromEntries(FEATURES.map((f) => [f, 1])), bill_depth_mm: 'deep' }] }, 400, /feature "bill_depth_mm" must be a finite number, got "deep"/],
    ['null', { instances: [{ ...Object.fromEntries(FEATURES.map((f) => [f, 1])), body_mass_g: null }] }, 400, /feature "body_mass_g" must be a finite number, got null/],
    ['extra key', { instances: [{ ...Object.fromEntries(FEATURES.map((f) => [f, 1])), island: 3 }] }, 400, /unknown feature "island"/],
    ['no instances', { rows: [] }, 400, /"instances"/],
    ['instance not an object', { instances: ['x'] }, 400, /instances\[0\] must be an object/],
  ];
  it.each(bad)('bad records: %s', async (_what, payload, status, message) => {
    const r = await predict(payload);
    expect(r.statusCode).toBe(status);
    expect(r.json().error).toMatch(message);
    expect(registry.requests).toHaveLength(0);
  });

  it('unknown model, unknown verb, not ready', async () => {
    const m = await predict({ instances: [] }, '/v1/models/other:predict');
    expect(m.statusCode).toBe(404);
    const verb = await predict({ instances: [] }, '/v1/models/penguins:explain');
    expect(verb.statusCode).toBe(404);
    expect(verb.json().error).toMatch(/:predict/);
    registry.isReady = false;
    expect((await predict({ instances: [record(ROWS[0]!)] })).statusCode).toBe(503);
  });

  it('v1 model status', async () => {
    expect((await app.inject('/v1/models/penguins')).json()).toEqual({ name: 'penguins', ready: true });
    expect((await app.inject('/v1/models')).json()).toEqual({ models: ['penguins'] });
  });
});

describe('/metrics', () => {
  const scrape = async () => {
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    return r.body;
  };
  const value = (text: string, series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };

  it('counts successes, failures, inferences and batches; shows the served version and refusals', async () => {
    const before = await scrape();
    expect(value(before, 'nv_inference_request_success{model="penguins",version="v2"}')).toBe(0);
    await infer(jsonRequest());
    await infer(jsonRequest());
    await infer({ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: ['NaN', 1, 2, 3] }] });
    registry.isReady = false;
    await infer(jsonRequest());
    registry.isReady = true;
    await infer(jsonRequest(), '/v2/models/unknown-name/infer');
    const text = await scrape();
    expect(value(text, 'nv_inference_request_success{model="penguins",version="v2"}')).toBe(2);
    expect(value(text, 'nv_inference_count{model="penguins",version="v2"}')).toBe(4);
    // Each request ran in a batch of 4 rows holding its 2: half an execution each.
    expect(value(text, 'nv_inference_exec_count{model="penguins",version="v2"}')).toBe(1);
    expect(value(text, 'nv_inference_request_failure{model="penguins",version="v2",reason="INVALID_ARGUMENT"}')).toBe(1);
    expect(value(text, 'nv_inference_request_failure{model="penguins",version="v2",reason="UNAVAILABLE"}')).toBe(1);
    expect(text).not.toContain('unknown-name');
    expect(value(text, 'cd4ml_queue_duration_seconds_count{model="penguins",version="v2"}')).toBe(2);
    expect(value(text, 'cd4ml_batch_size_bucket{le="4",model="penguins",version="v2"}')).toBe(2);
    expect(value(text, 'cd4ml_model_version_info{model="penguins",version="v2"}')).toBe(1);
    expect(value(text, 'cd4ml_release_refused_total{model="penguins",version="v3"}')).toBe(1);
    expect(value(text, 'cd4ml_request_duration_seconds_count{route="/v2/models/:name/infer",method="POST",code="200",protocol="http"}')).toBe(2);
    for (const name of ['nv_inference_request_duration_us', 'nv_inference_queue_duration_us', 'cd4ml_model_ready']) {
      expect(text).toContain(`# TYPE ${name}`);
    }

    // A new refusal shows up on the next scrape; old ones are not counted twice.
    registry.refusedList = [...registry.refusedList, { version: 'v4', reason: 'smoke outputs differ', at: 2 }];
    const later = await scrape();
    expect(value(later, 'cd4ml_release_refused_total{model="penguins",version="v3"}')).toBe(1);
    expect(value(later, 'cd4ml_release_refused_total{model="penguins",version="v4"}')).toBe(1);
  });

  it('process metrics on their own registry (two servers in one process)', async () => {
    const a = buildServer(new FakeRegistry());
    const b = buildServer(new FakeRegistry());
    const [ra, rb] = [await a.inject('/metrics'), await b.inject('/metrics')];
    expect(ra.body).toContain('process_cpu_seconds_total');
    expect(rb.statusCode).toBe(200);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('startServing: graceful shutdown', () => {
  it('turns unready at once, lets the in-flight request finish, then closes the registry', async () => {
    const fake = new FakeRegistry();
    fake.delayMs = 300;
    const serving = await startServing({
      store: '/nonexistent', project: 'penguins', port: 0, host: '127.0.0.1',
      handleSignals: false, registry: fake, logLevel: 'silent',
    });
    expect((await fetch(`${serving.url}/v2/health/ready`)).status).toBe(200);
    const inflight = fetch(`${serving.url}/v2/models/penguins/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jsonRequest()),
    });
    await new Promise((r) => setTimeout(r, 50));
    const stopping = serving.shutdown('test');
    expect(serving.registry.ready()).toBe(false);
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    await stopping;
    expect(fake.isReady).toBe(false); // close() was called
    await expect(fetch(`${serving.url}/v2/health/live`)).rejects.toThrow();
  });

  it('refuses a store url that names no valid bucket, before listening', async () => {
    await expect(startServing({ store: 's3://Not_A_Bucket/releases', project: 'p', port: 0, handleSignals: false }))
      .rejects.toThrow('"Not_A_Bucket" in s3://Not_A_Bucket/releases is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens)');
  });
});
