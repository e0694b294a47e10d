// What `make build` (scripts/build.ts) writes: per package, its entry points as
// <package>/dist/<name>.js. docker-compose.yml, the Dockerfile and the tests run these.
export const BUILD_TARGETS: Record<string, Record<string, string>> = {
  workers: { 'control-worker': 'workers/src/control-worker.ts', 'location-worker': 'workers/src/location-worker.ts' },
  client: { cli: 'client/src/cli.ts' },
};

/** Files the code opens next to itself (new URL('./x', import.meta.url)), copied into each dist/. */
export const BUILD_ASSETS = ['onnx/src/session-worker.mjs', 'activities/src/compute/ec2/user-data.sh', 'serving/proto/grpc_predict_v2.proto'];

/** The built file of a source entry point, e.g. workers/src/control-worker.ts -> workers/dist/control-worker.js. */
export function builtFile(source: string): string | undefined {
  for (const [pkg, entries] of Object.entries(BUILD_TARGETS)) {
    const name = Object.entries(entries).find(([, src]) => src === source)?.[0];
    if (name) return `${pkg}/dist/${name}.js`;
  }
  return undefined;
}
