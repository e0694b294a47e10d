import type { BuildOptions } from 'esbuild';
import { externalPlugin } from './bundle-externals.ts';

/** How scripts/build.ts bundles each package's entry points into `outdir` (test/unit/cli-lazy-imports.test.ts checks the CLI's). */
export function bundleOptions(entryPoints: Record<string, string>, outdir: string): BuildOptions & { metafile: true } {
  return {
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    plugins: [externalPlugin],
    // Each dynamic import() its own chunk: a command loads only the code its action needs.
    splitting: true,
    // Beside the entry points: code in a chunk opens its assets relative to itself (import.meta.url).
    chunkNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
    // CommonJS dependencies inside an ESM bundle call require() and use __dirname.
    banner: {
      js: "import { createRequire as __cd4mlRequire } from 'node:module'; import { fileURLToPath as __cd4mlPath } from 'node:url'; " +
        'const require = __cd4mlRequire(import.meta.url); const __filename = __cd4mlPath(import.meta.url); const __dirname = __cd4mlPath(new URL(".", import.meta.url));',
    },
  };
}
