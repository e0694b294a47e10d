// `make build`: the JavaScript that production runs with plain `node` (no tsx, no
// TypeScript at run time):
//   workers/dist/control-worker.js, workers/dist/location-worker.js, client/dist/cli.js
//   workers/dist/workflow-bundle.js   the workflows, bundled once here, not at every worker start
//   */dist/session-worker.mjs, user-data.sh   files the code opens beside itself
// Why esbuild and not tsc project references: the packages export their .ts
// sources (tsx and vitest run them as they are). One bundle per entry point needs
// no change to that layout and starts faster than a tree of small modules. It
// holds cd4ml's code and its pure-JS dependencies; the Temporal SDK (a native core
// and its own bundler), onnxruntime-node (native), gRPC and the AWS SDK stay imports,
// resolved from the package's node_modules, which is why each bundle lives in its
// package's dist/. Each package declares them as its dependencies (checked below), so
// `pnpm pack` of client/ or workers/ installs with npm anywhere.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUILD_ASSETS, BUILD_TARGETS } from './build-targets.ts';
import { checkExternals } from './bundle-externals.ts';
import { bundleOptions } from './bundle-options.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const started = Date.now();
for (const [pkg, entryPoints] of Object.entries(BUILD_TARGETS)) {
  const dist = path.join(ROOT, pkg, 'dist');
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  const { metafile } = await build(
    bundleOptions(Object.fromEntries(Object.entries(entryPoints).map(([name, file]) => [name, path.join(ROOT, file)])), dist),
  );
  checkExternals(metafile, path.join(ROOT, pkg));
  for (const asset of BUILD_ASSETS) await copyFile(path.join(ROOT, asset), path.join(dist, path.basename(asset)));
}
const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'workflows/src/index.ts') });
await writeFile(path.join(ROOT, 'workers/dist/workflow-bundle.js'), code);
console.log(`build: workers/dist, client/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
