import path from 'node:path';
import type { Command } from 'commander';

const parsePort = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be an integer 0..65535, got ${value}`);
  return n;
};

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve a project\'s release over HTTP (Open Inference Protocol v2, /v1/models/<project>:predict, /metrics);\n' +
        'without --tag it serves <store>/<project>/latest.json and follows new releases',
    )
    .requiredOption('--store <folder|s3://bucket/prefix>', 'release store: a folder, or S3 (AWS_REGION, credentials and AWS_ENDPOINT_URL_S3 from the environment)')
    .requiredOption('--project <name>', 'project whose releases to serve')
    .option('--tag <tag>', 'serve exactly this release')
    .option('--port <n>', 'port to listen on', parsePort, 8080)
    .option('--host <h>', 'address to listen on', '127.0.0.1')
    .option('--cache <folder>', 'where models downloaded from S3 are kept', path.join(process.env.CD4ML_HOME ?? '.cd4ml', 'cache', 'stores'))
    .action(async (o: { store: string; project: string; tag?: string; port: number; host: string; cache: string }) => {
      // Loaded here, not at the top: other commands need not load onnxruntime and fastify.
      const { startServing } = await import('@cd4ml/serving/serve');
      await startServing({
        store: o.store,
        cacheDir: path.resolve(o.cache),
        project: o.project,
        ...(o.tag !== undefined ? { tag: o.tag } : {}),
        port: o.port,
        host: o.host,
      });
      // Runs until SIGTERM/SIGINT: startServing's handlers drain and exit.
    });
}
