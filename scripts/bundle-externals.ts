// Which imports a bundle leaves to node_modules, and the check that its package declares
// each of them: the packed package (`pnpm pack`) is installed with npm outside the
// workspace, where only its own `dependencies` exist.
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Metafile, Plugin } from 'esbuild';

// Native code, or classes checked with instanceof between the SDK and cd4ml (one copy of
// each), or large and loaded only by the commands that need them (AWS SDK, gRPC).
const EXTERNAL = [/^@temporalio\//, /^onnxruntime-node$/, /^@grpc\//, /^@aws-sdk\//];

/** The npm package an import names: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

export const externalPlugin: Plugin = {
  name: 'native-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (EXTERNAL.some((re) => re.test(args.path)) ? { path: args.path, external: true } : undefined));
  },
};

/** Throws naming every package the bundle imports that `<pkgDir>/package.json` does not depend on (at an exact version). */
export function checkExternals(metafile: Metafile, pkgDir: string): void {
  const manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const deps = manifest.dependencies ?? {};
  const imported = new Set<string>();
  for (const out of Object.values(metafile.outputs)) {
    for (const imp of out.imports) {
      if (!imp.external || imp.path.startsWith('node:') || builtinModules.includes(imp.path)) continue;
      // Others are optional requires esbuild could not resolve and left in place (vega's canvas).
      if (!EXTERNAL.some((re) => re.test(imp.path))) continue;
      imported.add(packageOf(imp.path));
    }
  }
  const missing = [...imported].filter((p) => !deps[p]);
  const loose = [...imported].filter((p) => deps[p] && !/^\d+\.\d+\.\d+$/.test(deps[p]!));
  const problems = [
    ...(missing.length ? [`imports ${missing.join(', ')} but its package.json does not depend on them: add each at the workspace's version`] : []),
    ...(loose.length ? [`depends on ${loose.map((p) => `${p}@${deps[p]}`).join(', ')}: pin the exact version the workspace installs`] : []),
  ];
  if (problems.length) throw new Error(`build: ${path.basename(pkgDir)}/dist ${problems.join('; ')}`);
}
