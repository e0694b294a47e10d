import path from 'node:path';
import type { Command } from 'commander';
import { nonNegative, parsePort, portOf, positiveInt } from './parse-options.ts';

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve a project\'s release over HTTP (Open Inference Protocol v2, /v1/models/<project>:predict, /metrics);\n' +
        'without --tag it serves <store>/<project>/latest.json and follows new releases',
    )
    .requiredOption('--store <folder|s3://bucket/prefix>', 'release store: a folder, or S3 (AWS_REGION, credentials and AWS_ENDPOINT_URL_S3 from the environment)')
    .option('--project <name>', 'project whose releases to serve; repeat it to serve several from one server (/v2/models/<project>); none: every project in the store at start (restart to pick up new ones)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--tag <tag>', 'serve exactly this release')
    .option('--port <n>', 'port to listen on', parsePort, 8080)
    .option('--host <h>', 'address to listen on', '127.0.0.1')
    .option('--grpc-port <n>', 'also serve the Open Inference Protocol over gRPC on this port (Triton uses 8001); default off', portOf('--grpc-port'))
    .option('--workers <n>', 'inference worker threads, one onnxruntime session each (default: min(2, cores - 1), at least 1)', positiveInt('--workers'))
    .option('--max-batch-size <rows>', 'most rows stacked into one model run when requests are batched (default 1024)', positiveInt('--max-batch-size'))
    .option('--max-batch-delay <ms>', 'longest a request waits for others to batch with, while every worker is busy (default 2)', nonNegative('--max-batch-delay'))
    .option('--cache <folder>', 'where models downloaded from S3 are kept', path.join(process.env.CD4ML_HOME ?? '.cd4ml', 'cache', 'stores'))
    .action(async (o: {
      store: string; project: string[]; tag?: string; port: number; host: string; cache: string; grpcPort?: number;
      workers?: number; maxBatchSize?: number; maxBatchDelay?: number;
    }) => {
      // Loaded here, not at the top: other commands need not load onnxruntime and fastify.
      const { startServing } = await import('@cd4ml/serving/serve');
      await startServing({
        store: o.store,
        cacheDir: path.resolve(o.cache),
        project: o.project,
        ...(o.tag !== undefined ? { tag: o.tag } : {}),
        port: o.port,
        host: o.host,
        ...(o.grpcPort !== undefined ? { grpcPort: o.grpcPort } : {}),
        registryOptions: {
          ...(o.workers !== undefined ? { workers: o.workers } : {}),
          ...(o.maxBatchSize !== undefined ? { maxBatchSize: o.maxBatchSize } : {}),
          ...(o.maxBatchDelay !== undefined ? { maxBatchDelayMs: o.maxBatchDelay } : {}),
        },
      });
      // Runs until SIGTERM/SIGINT: startServing's handlers drain and exit.
    });
}
