import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { InferenceService, Prepared } from '../../model/infer.ts';
import type { InferResult, ServedModel } from '../../model/types.ts';
import { BadRequest, toJson } from '../tensors.ts';
import { isObject, splitBody } from '../v2-codec.ts';

// KServe v1-style records route for tabular models: POST /v1/models/<name>:predict
// with {"instances": [{feature: value}, ...]} (or arrays in feature order),
// answered with a label and class probabilities per row.

interface RecordsPrepared extends Prepared {
  rows: number;
  classes: string[] | undefined;
}

/** The records request as the release's one FP32/FP64 table, checked against its features. */
function prepareRecords(req: FastifyRequest, model: ServedModel): RecordsPrepared {
  const { name } = model;
  const m = model.manifest.model;
  if (!m.features || m.features.length === 0) {
    throw new BadRequest(`model ${name} lists no features in its release; use /v2/models/${name}/infer`);
  }
  const features = m.features;
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
  const rows = instances.length;
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
  return { inputs: [{ name: input.name, datatype: input.datatype, shape: [rows, k], data }], outputs: ['label', 'probabilities'], rows, classes: m.classes };
}

/** The records response: per row, the label and the class probabilities by class name. */
function recordsResponse(result: InferResult, { rows, classes }: RecordsPrepared) {
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
}

export function v1RecordsRoutes(app: FastifyInstance, service: InferenceService): void {
  app.get('/v1/models', async () => ({ models: service.names() }));
  app.get('/v1/models/:name', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const { name } = req.params;
    const ready = service.modelReady(name);
    return reply.code(ready ? 200 : 503).send({ name, ready });
  });
  // The path is /v1/models/<name>:predict; the router hands over "<name>:predict" as one parameter.
  app.post('/v1/models/:target', async (req: FastifyRequest<{ Params: { target: string } }>) => {
    const target = req.params.target;
    const colon = target.lastIndexOf(':');
    const verb = colon < 0 ? '' : target.slice(colon + 1);
    if (verb !== 'predict') throw new BadRequest(`no route POST ${req.url.split('?')[0]}: use /v1/models/<name>:predict`, 404);
    const { result, prepared } = await service.run(target.slice(0, colon), undefined, req as FastifyRequest, prepareRecords);
    return recordsResponse(result, prepared);
  });
}
