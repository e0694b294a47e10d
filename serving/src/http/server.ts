import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type onResponseHookHandler } from 'fastify';
import { InferenceService, statusOf } from '../model/infer.ts';
import type { ModelSet } from '../model/models.ts';
import type { ModelRegistry } from '../model/types.ts';
import { createMetrics, type ServingMetrics } from './metrics.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { v1RecordsRoutes } from './routes/v1-records.ts';
import { v2InferenceRoutes } from './routes/v2-inference.ts';
import { v2MetadataRoutes } from './routes/v2-metadata.ts';

// The HTTP side of serving: the fastify app, its error handling and the route groups:
//  - Open Inference Protocol v2 REST (KServe / Triton / MLServer), with the
//    binary tensor data extension so Triton's HTTP client works with defaults;
//  - a KServe v1-style records route for tabular models (/v1/models/<name>:predict);
//  - /metrics in Prometheus text format.
// Every error body is {"error": "..."}; no request can take the server down.

export { BINARY_HEADER, inferResponse, parseInferRequest, splitBody, type ParsedInfer } from './v2-codec.ts';

export interface ServerOptions {
  /** Largest request body accepted (413 above). Default 16 MiB. */
  bodyLimitBytes?: number;
  /** Fastify logger option: false, true, or pino options. Default false. */
  logger?: boolean | object;
  /** A pino logger to use instead (wins over `logger`). */
  loggerInstance?: FastifyBaseLogger;
  /** Also export Node process metrics on /metrics. Default true. */
  defaultMetrics?: boolean;
  /** Metrics shared with another front end (gRPC); default: a new registry for this server. */
  metrics?: ServingMetrics;
}

export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

/** The REST server over one model, or several (a ModelSet: one registry per project). */
export function buildServer(models: ModelRegistry | ModelSet, opts: ServerOptions = {}): FastifyInstance {
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
  const metrics = opts.metrics ?? createMetrics(models, { defaultMetrics: opts.defaultMetrics });
  const service = new InferenceService(models, metrics);

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

  v2MetadataRoutes(app, service);
  v2InferenceRoutes(app, service);
  v1RecordsRoutes(app, service);
  metricsRoutes(app, metrics);
  return app;
}
