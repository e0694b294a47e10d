import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { prepareTensors, type InferenceService, type Prepared } from '../../model/infer.ts';
import type { ServedModel } from '../../model/types.ts';
import { inferResponse, parseInferRequest, splitBody, type ParsedInfer } from '../v2-codec.ts';

// POST /v2/models/<name>[/versions/<tag>]/infer: decode, run on the model side, encode.

type ModelParams = { name: string; version?: string };

/** An OIP v2 request body, parsed and checked against the release it will run on. */
function prepareInfer(req: FastifyRequest, model: ServedModel): Prepared & { parsed: ParsedInfer } {
  const { json, binary } = splitBody(req);
  const parsed = parseInferRequest(json, binary);
  return { ...prepareTensors(parsed.inputs, parsed.outputs?.map((o) => o.name), model), id: parsed.id, parsed };
}

export function v2InferenceRoutes(app: FastifyInstance, service: InferenceService): void {
  const infer = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { result, prepared } = await service.run(req.params.name, req.params.version, req as FastifyRequest, prepareInfer);
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
}
