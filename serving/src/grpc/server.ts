import { Server, ServerCredentials, loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { ServingMetrics } from '../http/metrics.ts';
import type { InferenceService } from '../model/infer.ts';
import { grpcHandlers } from './handlers.ts';
import { packageVersion, protoFile } from '../package-files.ts';

// The Open Inference Protocol over gRPC (inference.GRPCInferenceService from
// the vendored grpc_predict_v2.proto), on its own port beside REST, over the
// same InferenceService as REST (models, releases, pools, rollouts, metrics).

const PROTO = protoFile('grpc_predict_v2.proto');

/** Snake-case fields as in the proto; int64 as strings (exact); defaults filled so handlers see arrays. */
function loadService(): ServiceDefinition {
  const def = loadSync(PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const pkg = loadPackageDefinition(def) as unknown as { inference: { GRPCInferenceService: { service: ServiceDefinition } } };
  return pkg.inference.GRPCInferenceService.service;
}

/** The serving package's version, as ServerMetadata reports it. */
const VERSION = packageVersion();

export interface GrpcServing {
  port: number;
  /** Lets calls in flight finish, then stops; cuts them after timeoutMs. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startGrpc(service: InferenceService, opts: { host: string; port: number; metrics?: ServingMetrics }): Promise<GrpcServing> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(loadService(), grpcHandlers(service, { serverName: 'cd4ml', serverVersion: VERSION }, opts.metrics));
  const address = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(new Error(`gRPC: cannot listen on ${address}: ${err.message}`)) : resolve(p)));
  });
  return {
    port,
    close: (timeoutMs = 30_000) => new Promise<void>((resolve) => {
      const timer = setTimeout(() => { server.forceShutdown(); resolve(); }, timeoutMs);
      timer.unref();
      server.tryShutdown(() => { clearTimeout(timer); resolve(); });
    }),
  };
}
