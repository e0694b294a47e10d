// The ceilings on this machine, no model and no validation:
// REST: fastify parses the same JSON body and answers a constant;
// gRPC (when given a second port): @grpc/grpc-js with the same vendored proto
// and loader options as cd4ml's gRPC server decodes the ModelInferRequest and
// answers a constant.
//   tsx bench/serving/bare-route.ts <rest port> [<grpc port>]
import { createRequire } from 'node:module';
import path from 'node:path';
import Fastify from 'fastify';
import { REPO_ROOT } from '../../test/harness/paths.ts';

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
const answer = { model_name: 'penguins', outputs: [] };
app.get('/v2/health/ready', async () => ({ ready: true }));
app.post('/v2/models/:name/infer', async (req) => {
  const body = req.body as { inputs?: unknown[] };
  if (!Array.isArray(body?.inputs)) throw new Error('no inputs');
  return answer;
});

// The serving package's own grpc-js and proto-loader (the bench package does
// not depend on them): the ceiling is the library cd4ml serves with.
type Callback = (err: null, res: unknown) => void;
interface GrpcJs {
  Server: new () => {
    addService(service: unknown, impl: Record<string, (call: { request: { inputs?: unknown[] } }, cb: Callback) => void>): void;
    bindAsync(address: string, creds: unknown, cb: (err: Error | null) => void): void;
  };
  ServerCredentials: { createInsecure(): unknown };
  loadPackageDefinition(def: unknown): { inference: { GRPCInferenceService: { service: unknown } } };
}
async function startGrpc(grpcPort: number): Promise<void> {
  const require = createRequire(path.join(REPO_ROOT, 'serving/package.json'));
  const grpc = require('@grpc/grpc-js') as GrpcJs;
  const { loadSync } = require('@grpc/proto-loader') as { loadSync(file: string, opts: object): unknown };
  const def = loadSync(path.join(REPO_ROOT, 'serving/proto/grpc_predict_v2.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const server = new grpc.Server();
  server.addService(grpc.loadPackageDefinition(def).inference.GRPCInferenceService.service, {
    ServerReady: (_call, cb) => cb(null, { ready: true }),
    ModelInfer: (call, cb) => {
      if (!Array.isArray(call.request.inputs) || call.request.inputs.length === 0) throw new Error('no inputs');
      cb(null, { model_name: 'penguins', outputs: [] });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
}

if (process.argv[3]) await startGrpc(Number(process.argv[3]));
await app.listen({ port, host: '127.0.0.1' });
console.log(`bare route listening on ${port}${process.argv[3] ? `, bare gRPC on ${process.argv[3]}` : ''}`);
