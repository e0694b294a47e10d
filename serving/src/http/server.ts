import { packageVersion } from '../package-files.ts';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type onResponseHookHandler } from 'fastify';
import type { Datatype } from '@cd4ml/contracts';
import { checkSignature, InputError, isDatatype } from '@cd4ml/onnx';
import { InferenceError, type InferResult, type InferTensor, type ModelRegistry, type ServedModel } from '../model/types.ts';
import { HEALTH_LIVE_PATH, HEALTH_READY_PATH } from './health.ts';
import { createMetrics, type FailureReason } from './metrics.ts';
import { BadRequest, elementCount, fromBinary, fromJson, jsonDataText, toBinary, toJson } from './tensors.ts';

// The HTTP side of serving:
//  - Open Inference Protocol v2 REST (KServe / Triton / MLServer), with the
//    binary tensor data extension so Triton's HTTP client works with defaults;
//  - a KServe v1-style records route for tabular models (/v1/models/<name>:predict);
//  - /metrics in Prometheus text format.
// Every error body is {"error": "..."}; no request can take the server down.

export interface ServerOptions {
  /** Largest request body accepted (413 above). Default 16 MiB. */
  bodyLimitBytes?: number;
  /** Fastify logger option: false, true, or pino options. Default false. */
  logger?: boolean | object;
  /** A pino logger to use instead (wins over `logger`). */
  loggerInstance?: FastifyBaseLogger;
  /** Also export Node process metrics on /metrics. Default true. */
  defaultMetrics?: boolean;
}

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;
export const BINARY_HEADER = 'inference-header-content-length';

const PACKAGE_VERSION: string = packageVersion();

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const statusOf = (err: unknown): 400 | 404 | 413 | 503 | undefined => {
  if (err instanceof BadRequest) return err.status;
  if (err instanceof InferenceError) return err.status;
  if (err instanceof InputError) return 400;
  const e = err as { name?: unknown; status?: unknown };
  if (e && e.name === 'InferenceError' && (e.status === 400 || e.status === 404 || e.status === 503)) return e.status;
  return undefined;
};

const reasonOf = (status: number | undefined): FailureReason =>
  status === 400 || status === 413 ? 'INVALID_ARGUMENT' : status === 404 ? 'NOT_FOUND' : status === 503 ? 'UNAVAILABLE' : 'BACKEND';

// ---- request parsing ----------------------------------------------------------

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

interface Prepared {
  inputs: InferTensor[];
  outputs?: string[] | undefined;
}

/** An OIP v2 request body, parsed and checked against the release it will run on. */
function prepareInfer(req: FastifyRequest, model: ServedModel): Prepared & { parsed: ParsedInfer } {
  const { json, binary } = splitBody(req);
  const parsed = parseInferRequest(json, binary);
  const outputs = parsed.outputs?.map((o) => o.name);
  // Before the registry sees it: names, datatypes and shapes against the release this request will run on.
  checkSignature(model.manifest.model, parsed.inputs, outputs);
  return { inputs: parsed.inputs, outputs, parsed };
}

// ---- responses ----

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

// ---- server -----------------------------------------------------------------

export function buildServer(registry: ModelRegistry, opts: ServerOptions = {}): FastifyInstance {
  const bodyLimit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: opts.logger ?? false }),
    bodyLimit,
    // No access log line per request: at thousands of requests a second it costs more than
    // inference does; /metrics counts requests and errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Requests log through the server's logger itself: a child logger per request (fastify's
    // default, for its reqId binding) showed up in profiles and nothing here logs per request.
    childLoggerFactory: (logger) => logger,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;
  const metrics = createMetrics(registry, { defaultMetrics: opts.defaultMetrics });

  // Every body arrives as a Buffer whatever its content type (JSON, octet-stream,
  // none): the handlers decide, since the binary extension mixes both.
  app.removeAllContentTypeParsers();
  const asBuffer = (_req: unknown, body: Buffer | string, done: (err: null, body: Buffer | string) => void) => done(null, body);
  // The two content types clients send are matched by name first (the catch-all lookup is slower).
  app.addContentTypeParser(['application/json', 'application/octet-stream'], { parseAs: 'buffer' }, asBuffer);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, asBuffer);

  app.setErrorHandler((err, req, reply) => {
    const known = statusOf(err);
    const e = err as { statusCode?: number; code?: string; message?: string };
    let status: number;
    let message: string;
    if (known) {
      status = known;
      message = (err as Error).message;
    } else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      message = `request body is larger than the limit of ${bodyLimit} bytes`;
    } else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      status = e.statusCode;
      message = e.message ?? 'bad request';
    } else {
      status = 500;
      message = 'internal error';
      req.log.error({ err }, 'request failed');
    }
    void reply.code(status).type('application/json; charset=utf-8').send({ error: message });
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.request('unmatched', req.method, 404, reply.elapsedTime / 1000);
    void reply.code(404).type('application/json; charset=utf-8').send({ error: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  // Request durations by route: a hook per route with its pattern baked in, since
  // reading req.routeOptions builds a 13-field object on every call.
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    const observe: onResponseHookHandler = (req, reply, done) => {
      metrics.request(url, req.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = route.onResponse ? [route.onResponse, observe].flat() : observe;
  });

  /** The model addressed by name (and version); 404 unknown, 503 nothing served yet. */
  const resolve = (name: string, version?: string): ServedModel => {
    if (name !== registry.name) throw new BadRequest(`unknown model "${name}": this server serves "${registry.name}"`, 404);
    if (version !== undefined) {
      const m = registry.versions().find((v) => v.version === version);
      if (m) return m;
      const refused = registry.refused().filter((r) => r.version === version).at(-1);
      if (refused) throw new BadRequest(`version "${version}" of ${name} was refused: ${refused.reason}`, 404);
      throw new BadRequest(`unknown version "${version}" of ${name}: serving ${registry.versions().map((v) => v.version).join(', ') || 'none'}`, 404);
    }
    const current = registry.current();
    if (!current) {
      const last = registry.refused().at(-1);
      throw new BadRequest(`${name} has no release serving yet${last ? ` (release ${last.version} was refused: ${last.reason})` : ''}`, 503);
    }
    return current;
  };
  const requireReady = (): void => {
    if (!registry.ready()) throw new BadRequest(`${registry.name} is not ready`, 503);
  };

  /**
   * Runs an inference and keeps the metrics; failures are counted, then rethrown.
   * `prepare` (one function per route, not a closure per request) turns the
   * request into inputs for the release it is about to run on.
   */
  const runInference = async <P extends Prepared>(
    req: FastifyRequest,
    name: string,
    version: string | undefined,
    prepare: (req: FastifyRequest, model: ServedModel) => P,
  ): Promise<{ result: InferResult; prepared: P }> => {
    const started = performance.now();
    let labelVersion = version ?? registry.current()?.version ?? '';
    try {
      if (name !== registry.name) throw new BadRequest(`unknown model "${name}": this server serves "${registry.name}"`, 404);
      requireReady();
      const model = resolve(name, version);
      labelVersion = model.version;
      const prepared = prepare(req, model);
      const result = await registry.infer(version !== undefined ? { version, inputs: prepared.inputs, outputs: prepared.outputs } : prepared);
      const first = prepared.inputs[0];
      const rows = first && first.shape.length > 0 ? first.shape[0]! : 1;
      metrics.success(registry.name, result.model.version, rows, result.batchSize, performance.now() - started, result.queueMs);
      return { result, prepared };
    } catch (err) {
      const status = statusOf(err);
      // Unknown names are not counted: label values must not come from clients.
      if (!(status === 404 && name !== registry.name)) {
        const known = registry.versions().some((v) => v.version === labelVersion) || labelVersion === '';
        metrics.failure(registry.name, known ? labelVersion : 'unknown', reasonOf(status));
      }
      throw err;
    }
  };

  // ---- OIP v2: health and metadata ----
  app.get(HEALTH_LIVE_PATH, async () => ({ live: true }));
  app.get(HEALTH_READY_PATH, async (_req, reply) => {
    const ready = registry.ready();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/v2', async () => ({ name: 'cd4ml', version: PACKAGE_VERSION, extensions: ['binary_tensor_data'] }));

  type ModelParams = { name: string; version?: string };
  const modelMetadata = async (req: FastifyRequest<{ Params: ModelParams }>) => {
    const m = resolve(req.params.name, req.params.version);
    const model = m.manifest.model;
    return {
      name: m.name,
      versions: registry.versions().map((v) => v.version),
      platform: 'onnxruntime_onnx',
      inputs: model.inputs,
      outputs: model.outputs,
      cd4ml: {
        version: m.version,
        current: registry.current()?.version ?? null,
        loadedAt: new Date(m.loadedAt).toISOString(),
        createdAt: m.manifest.createdAt,
        commit: m.manifest.git.commit,
        features: model.features ?? null,
        classes: model.classes ?? null,
        refused: registry.refused().map((r) => ({ version: r.version, reason: r.reason, at: new Date(r.at).toISOString() })),
      },
    };
  };
  app.get('/v2/models/:name', modelMetadata);
  app.get('/v2/models/:name/versions/:version', modelMetadata);

  const modelReady = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { name, version } = req.params;
    if (name !== registry.name) throw new BadRequest(`unknown model "${name}": this server serves "${registry.name}"`, 404);
    let ready = registry.ready() && registry.current() !== null;
    if (version !== undefined) {
      const known = registry.versions().some((v) => v.version === version);
      if (!known && !registry.refused().some((r) => r.version === version)) resolve(name, version); // 404
      ready = ready && known;
    }
    return reply.code(ready ? 200 : 503).send({ name, ready });
  };
  app.get('/v2/models/:name/ready', modelReady);
  app.get('/v2/models/:name/versions/:version/ready', modelReady);

  // ---- OIP v2: inference ----
  const infer = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { result, prepared } = await runInference(req, req.params.name, req.params.version, prepareInfer);
    const { text, binary } = inferResponse(result, prepared.parsed);
    if (binary === null) return reply.type('application/json; charset=utf-8').send(text);
    const json = Buffer.from(text, 'utf8');
    return reply
      .header('Inference-Header-Content-Length', String(json.length))
      .type('application/octet-stream')
      .send(Buffer.concat([json, ...binary]));
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);

  // ---- KServe v1-style records route ----
  app.get('/v1/models', async () => ({ models: [registry.name] }));
  app.get('/v1/models/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const { name } = req.params;
    if (name !== registry.name) throw new BadRequest(`unknown model "${name}": this server serves "${registry.name}"`, 404);
    const ready = registry.ready() && registry.current() !== null;
    return reply.code(ready ? 200 : 503).send({ name, ready });
  });
  // The path is /v1/models/<name>:predict; the router hands over "<name>:predict" as one parameter.
  app.post('/v1/models/:target', async (req: FastifyRequest<{ Params: { target: string } }>) => {
    const target = req.params.target;
    const colon = target.lastIndexOf(':');
    const verb = colon < 0 ? '' : target.slice(colon + 1);
    if (verb !== 'predict') throw new BadRequest(`no route POST ${req.url.split('?')[0]}: use /v1/models/<name>:predict`, 404);
    const name = target.slice(0, colon);
    let features: string[] = [];
    let classes: string[] | undefined;
    let rows = 0;
    const { result } = await runInference(req, name, undefined, (_req, model) => {
      const m = model.manifest.model;
      if (!m.features || m.features.length === 0) {
        throw new BadRequest(`model ${name} lists no features in its release; use /v2/models/${name}/infer`);
      }
      features = m.features;
      classes = m.classes;
      const input = m.inputs[0];
      if (m.inputs.length !== 1 || !input || (input.datatype !== 'FP32' && input.datatype !== 'FP64')) {
        throw new BadRequest(`model ${name} does not take one FP32 table; use /v2/models/${name}/infer`);
      }
      for (const out of ['label', 'probabilities']) {
        if (!m.outputs.some((o) => o.name === out)) throw new BadRequest(`model ${name} has no output "${out}"; use /v2/models/${name}/infer`);
      }
      const { json } = splitBody(req);
      if (!isObject(json) || !Array.isArray(json.instances) || json.instances.length === 0) {
        throw new BadRequest('the request must be {"instances": [{feature: value, ...}, ...]}');
      }
      const instances = json.instances as unknown[];
      rows = instances.length;
      const k = features.length;
      const data = input.datatype === 'FP64' ? new Float64Array(rows * k) : new Float32Array(rows * k);
      instances.forEach((inst, i) => {
        if (Array.isArray(inst)) {
          if (inst.length !== k) throw new BadRequest(`instances[${i}]: ${inst.length} values, the model takes ${k} (${features.join(', ')})`);
          inst.forEach((v, j) => {
            if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRequest(`instances[${i}]: feature "${features[j]}" must be a finite number, got ${JSON.stringify(v)}`);
            data[i * k + j] = v;
          });
          return;
        }
        if (!isObject(inst)) throw new BadRequest(`instances[${i}] must be an object {feature: value}`);
        const extra = Object.keys(inst).filter((key) => !features.includes(key));
        if (extra.length > 0) throw new BadRequest(`instances[${i}]: unknown feature${extra.length > 1 ? 's' : ''} ${extra.map((x) => `"${x}"`).join(', ')}; the model takes ${features.join(', ')}`);
        features.forEach((f, j) => {
          if (!Object.hasOwn(inst, f)) throw new BadRequest(`instances[${i}]: missing feature "${f}"`);
          const v = inst[f];
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadRequest(`instances[${i}]: feature "${f}" must be a finite number, got ${JSON.stringify(v)}`);
          data[i * k + j] = v;
          if (!Number.isFinite(data[i * k + j]!)) throw new BadRequest(`instances[${i}]: feature "${f}" is out of ${input.datatype} range`);
        });
      });
      return { inputs: [{ name: input.name, datatype: input.datatype, shape: [rows, k], data }], outputs: ['label', 'probabilities'] };
    });

    const label = result.outputs.find((t) => t.name === 'label');
    const probs = result.outputs.find((t) => t.name === 'probabilities');
    if (!label || !probs) throw new Error('the model side returned no label or probabilities output');
    const labels = toJson(label);
    const p = toJson(probs);
    const k = probs.shape.length > 1 ? probs.shape[probs.shape.length - 1]! : p.length / Math.max(rows, 1);
    const className = (j: number): string => classes?.[j] ?? String(j);
    return {
      predictions: Array.from({ length: rows }, (_, i) => {
        const l = labels[i];
        const probabilities: Record<string, number | null> = {};
        for (let j = 0; j < k; j++) probabilities[className(j)] = p[i * k + j] as number | null;
        return { label: typeof l === 'number' ? className(l) : l, probabilities };
      }),
    };
  });

  // ---- metrics ----
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  return app;
}
