import type { FastifyInstance } from 'fastify';
import type { ServingMetrics } from '../metrics.ts';

// GET /metrics in Prometheus text format.

export function metricsRoutes(app: FastifyInstance, metrics: ServingMetrics): void {
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
