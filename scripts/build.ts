// `make build`: the JavaScript that production runs with plain `node` (no tsx, no
// TypeScript at run time):
//   workers/dist/control-worker.js, workers/dist/location-worker.js, client/dist/cli.js
//   workers/dist/workflow-bundle.js   the workflows, bundled once here, not at every worker start
//   */dist/session-worker.mjs, user-data.sh   files the code opens beside itself
// Why esbuild and not tsc project references: the packages export their .ts
// sources (tsx and vitest run them as they are). One bundle per entry point needs
// no change to that layout and starts faster than a tree of small modules. It
// holds cd4ml's code and its pure-JS dependencies; the Temporal SDK (a native core
// and its own bundler) and onnxruntime-node (native) stay imports, resolved from
// the package's node_modules, which is why each bundle lives in its package's dist/.
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BUILD_ASSETS, BUILD_TARGETS } from './build-targets.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// One instance of each: the SDK's classes (ApplicationFailure, the activity Context) are checked with
// instanceof between the worker and cd4ml's code, so a bundled copy would not be recognised.
const EXTERNAL = [/^@temporalio\//, /^onnxruntime-node$/];

const external: Plugin = {
  name: 'native-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (EXTERNAL.some((re) => re.test(args.path)) ? { path: args.path, external: true } : undefined));
  },
};

const started = Date.now();
for (const [pkg, entryPoints] of Object.entries(BUILD_TARGETS)) {
  const dist = path.join(ROOT, pkg, 'dist');
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, file]) => [name, path.join(ROOT, file)])),
    outdir: dist,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    plugins: [external],
    logLevel: 'warning',
    // CommonJS dependencies inside an ESM bundle call require() and use __dirname.
    banner: {
      js: "import { createRequire as __cd4mlRequire } from 'node:module'; import { fileURLToPath as __cd4mlPath } from 'node:url'; " +
        'const require = __cd4mlRequire(import.meta.url); const __filename = __cd4mlPath(import.meta.url); const __dirname = __cd4mlPath(new URL(".", import.meta.url));',
    },
  });
  for (const asset of BUILD_ASSETS) await copyFile(path.join(ROOT, asset), path.join(dist, path.basename(asset)));
}
const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'workflows/src/index.ts') });
await writeFile(path.join(ROOT, 'workers/dist/workflow-bundle.js'), code);
console.log(`build: workers/dist, client/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
