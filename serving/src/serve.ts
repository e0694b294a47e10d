import path from 'node:path';
import { pino, type Logger } from 'pino';
import { isS3Url, openStore } from '@cd4ml/stores';
import type { FastifyInstance } from 'fastify';
import { createModelRegistry, type ModelRegistryOptions } from './model/registry.ts';
import type { ModelRegistry } from './model/types.ts';
import { ModelSet } from './model/models.ts';
import { InferenceService } from './model/infer.ts';
import { buildServer } from './http/server.ts';
import { createMetrics } from './http/metrics.ts';
import { startGrpc, type GrpcServing } from './grpc/server.ts';

// Process wiring for `cd4ml serve`: load each project's release (model side),
// serve them over HTTP (and gRPC), and shut down gracefully on SIGTERM/SIGINT:
//   1. ready turns false at once (/v2/health/ready answers 503),
//   2. optionally wait drainDelayMs so load balancers notice,
//   3. stop accepting connections; in-flight requests finish (responses carry
//      Connection: close; new requests on kept-alive sockets get 503),
//   4. close the registry (frees sessions), exit 0.

export interface ServeOptions {
  /** Release store: a folder or s3://bucket/prefix (region, credentials and endpoint from the AWS SDK's environment). */
  store: string;
  /** Where models downloaded from an S3 store are kept. Default: <tmpdir>/cd4ml-store-cache. */
  cacheDir?: string;
  /**
   * The project to serve, or several: each gets its own releases, pool, rollout and routes (/v2/models/<project>).
   * None (or []): every project folder in the store at start (projects added later need a restart).
   */
  project?: string | string[];
  /** Serve exactly this release (one project only); without it, follow serving.json or latest.json. */
  tag?: string;
  port: number;
  host?: string;
  /** Also serve the Open Inference Protocol over gRPC on this port (0: any free port). Default: off. */
  grpcPort?: number;
  bodyLimitBytes?: number;
  /** Time between turning unready and closing the listener. Default 0. */
  drainDelayMs?: number;
  /** After this, connections still open are cut. Default 30 s. */
  shutdownTimeoutMs?: number;
  /** Install SIGTERM/SIGINT handlers that shut down and exit the process. Default true. */
  handleSignals?: boolean;
  /** Defaults to a pino logger at logLevel (default info) on stdout. */
  logger?: Logger;
  logLevel?: string;
  /** Extra options for the model side (workers, batching). */
  registryOptions?: Partial<Omit<ModelRegistryOptions, 'store' | 'project' | 'tag' | 'logger' | 'cacheDir'>>;
  /** Use this registry instead of loading one from the store (tests). */
  registry?: ModelRegistry;
}

const projectsOf = async (p: string | string[] | undefined, store: string, cacheDir: string | undefined): Promise<string[]> => {
  let list = typeof p === 'string' ? [p] : (p ?? []);
  if (list.length === 0) {
    const opened = openStore(isS3Url(store) ? store : path.resolve(store), cacheDir !== undefined ? { cacheDir } : {});
    list = await opened.listProjects();
    if (list.length === 0) {
      throw new Error(`serve: the store ${opened.url} has no project folders (<project>/<tag>/release.json); ` +
        'publish a release there first (cd4ml train), or point --store at the store the workers publish to, or name --project');
    }
  }
  const twice = list.find((x, i) => list.indexOf(x) !== i);
  if (twice) throw new Error(`serve: project ${twice} is named twice; name each project once`);
  return list;
};

export interface Serving {
  app: FastifyInstance;
  /** The first project's registry (the only one, serving one project). */
  registry: ModelRegistry;
  /** Every project served. */
  models: ModelSet;
  /** http://host:port */
  url: string;
  /** host:port of the gRPC endpoint, when grpcPort was given. */
  grpcAddress?: string;
  /** The graceful shutdown the signal handlers run (without exiting the process). */
  shutdown(reason?: string): Promise<void>;
}

export async function startServing(opts: ServeOptions): Promise<Serving> {
  const log = opts.logger ?? pino({ name: 'cd4ml-serve', level: opts.logLevel ?? 'info' });
  const projects = opts.registry ? [opts.registry.name] : await projectsOf(opts.project, opts.store, opts.cacheDir);
  if (opts.tag !== undefined && projects.length > 1) throw new Error('serve: --tag pins one project\'s release; serve several projects without it');
  const load = (project: string): Promise<ModelRegistry> => createModelRegistry({
    ...opts.registryOptions,
    store: opts.store,
    ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    project,
    ...(opts.tag !== undefined ? { tag: opts.tag } : {}),
    logger: log.child({ component: 'model', model: project }),
  });
  const loaded = await Promise.allSettled(opts.registry ? [Promise.resolve(opts.registry)] : projects.map(load));
  const inners = loaded.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = loaded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(inners.map((r) => r.close().catch(() => {})));
    throw failed.reason;
  }

  let draining = false;
  // The server sees each registry through this: ready() turns false the moment shutdown starts.
  const facade = (inner: ModelRegistry): ModelRegistry => ({
    get name() { return inner.name; },
    ready: () => !draining && inner.ready(),
    current: () => inner.current(),
    versions: () => inner.versions(),
    refused: () => inner.refused(),
    infer: (request) => inner.infer(request),
    rollout: () => inner.rollout?.() ?? null,
    servingState: () => inner.servingState?.() ?? null,
    close: () => inner.close(),
  });
  const models = new ModelSet(inners.map(facade));
  const registry = models.all()[0]!;
  const closeAll = (): Promise<void> => Promise.all(inners.map((r) => r.close())).then(() => {});
  // One set of counters for both front ends: gRPC requests show beside REST ones, by protocol.
  const metrics = createMetrics(models);

  const app = buildServer(models, {
    metrics,
    ...(opts.bodyLimitBytes !== undefined ? { bodyLimitBytes: opts.bodyLimitBytes } : {}),
    loggerInstance: log.child({ component: 'http' }),
  });
  // A callback hook, not an async one: it runs on every response, and a promise each time shows in profiles.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (draining) void reply.header('Connection', 'close');
    done(null, payload);
  });

  const host = opts.host ?? '127.0.0.1';
  try {
    await app.listen({ port: opts.port, host });
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
  let grpc: GrpcServing | undefined;
  if (opts.grpcPort !== undefined) {
    try {
      grpc = await startGrpc(new InferenceService(models, metrics), { host, port: opts.grpcPort, metrics });
    } catch (err) {
      await app.close().catch(() => {});
      await closeAll().catch(() => {});
      throw err;
    }
  }
  const grpcAddress = grpc ? `${host.includes(':') ? `[${host}]` : host}:${grpc.port}` : undefined;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  for (const inner of inners) {
    const current = inner.current();
    log.info(
      { url, grpc: grpcAddress ?? null, model: inner.name, version: current?.version ?? null, ready: inner.ready() },
      current ? `serving ${inner.name} ${current.version} on ${url}` : `listening on ${url}; ${inner.name} has no servable release yet`,
    );
  }

  let closing: Promise<void> | null = null;
  const shutdown = (reason = 'shutdown'): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      log.info({ reason }, 'shutting down: unready, draining in-flight requests');
      if (opts.drainDelayMs) await new Promise((r) => setTimeout(r, opts.drainDelayMs));
      const timer = setTimeout(() => {
        log.warn({ timeoutMs: opts.shutdownTimeoutMs ?? 30_000 }, 'shutdown timeout: closing the connections still open');
        app.server.closeAllConnections();
      }, opts.shutdownTimeoutMs ?? 30_000);
      timer.unref();
      try {
        await Promise.all([app.close(), grpc?.close(opts.shutdownTimeoutMs ?? 30_000)]);
        await closeAll();
      } finally {
        clearTimeout(timer);
      }
      log.info('stopped');
    })();
    return closing;
  };

  if (opts.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      shutdown(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  return { app, registry, models, url, ...(grpcAddress ? { grpcAddress } : {}), shutdown };
}
