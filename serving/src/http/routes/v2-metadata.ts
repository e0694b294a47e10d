import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InferenceService } from '../../model/infer.ts';
import { HEALTH_LIVE_PATH, HEALTH_READY_PATH } from '../health.ts';
import { packageVersion } from '../../package-files.ts';

// OIP v2 health, server metadata, model metadata and model readiness.

const PACKAGE_VERSION: string = packageVersion();

type ModelParams = { name: string; version?: string };

export function v2MetadataRoutes(app: FastifyInstance, service: InferenceService): void {
  app.get(HEALTH_LIVE_PATH, async () => ({ live: true }));
  app.get(HEALTH_READY_PATH, async (_req, reply) => {
    const ready = service.ready(); // every model served
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/v2', async () => ({ name: 'cd4ml', version: PACKAGE_VERSION, extensions: ['binary_tensor_data'] }));

  const modelMetadata = async (req: FastifyRequest<{ Params: ModelParams }>) => service.metadata(req.params.name, req.params.version);
  app.get('/v2/models/:name', modelMetadata);
  app.get('/v2/models/:name/versions/:version', modelMetadata);

  const modelReady = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { name, version } = req.params;
    const ready = service.modelReady(name, version);
    return reply.code(ready ? 200 : 503).send({ name, ready });
  };
  app.get('/v2/models/:name/ready', modelReady);
  app.get('/v2/models/:name/versions/:version/ready', modelReady);
}
