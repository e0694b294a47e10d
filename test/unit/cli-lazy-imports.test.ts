import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleOptions } from '../../scripts/bundle-options.ts';
import { REPO_ROOT } from '../harness/paths.ts';

/** What `node client/dist/cli.js` loads before any action runs: the entry and the chunks it imports statically. */
function loadedAtStart(meta: Metafile, entry: string): { inputs: string[]; externals: string[] } {
  const seen = new Set<string>();
  const externals = new Set<string>();
  const visit = (out: string) => {
    if (seen.has(out)) return;
    seen.add(out);
    for (const imp of meta.outputs[out]!.imports) {
      if (imp.kind !== 'import-statement' && imp.kind !== 'require-call') continue;
      if (imp.external) externals.add(imp.path);
      else visit(imp.path);
    }
  };
  visit(entry);
  return { inputs: [...seen].flatMap((o) => Object.keys(meta.outputs[o]!.inputs)), externals: [...externals] };
}

// Command registration must stay cheap (issue 16: --help under 0.3 s): a command module imports
// its implementation inside its action, so none of this may load at start.
const HEAVY_INPUTS = [/contracts\/src\//, /connection\.ts$/, /watch-training\.ts$/, /\/onnx\/src\//, /\/serving\/src\//, /\/activities\/src\//, /node_modules\/.*\/(zod|fastify|pino|execa)\//];
const HEAVY_EXTERNALS = [/^@temporalio\//, /^onnxruntime-node$/, /^@grpc\//, /^@aws-sdk\//];

describe('the built CLI registers its commands without loading their implementations', () => {
  it('loads no Temporal, contracts, onnx, serving or AWS code before an action runs', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-cli-bundle-'));
    try {
      const { metafile } = await build({ ...bundleOptions({ cli: path.join(REPO_ROOT, 'client/src/cli.ts') }, out), write: false, absWorkingDir: REPO_ROOT });
      const entry = Object.keys(metafile.outputs).find((o) => o.endsWith('/cli.js'))!;
      const { inputs, externals } = loadedAtStart(metafile, entry);
      expect(inputs.some((i) => i.endsWith('client/src/cli.ts'))).toBe(true);
      expect(inputs.filter((i) => HEAVY_INPUTS.some((re) => re.test(i)))).toEqual([]);
      expect(externals.filter((e) => HEAVY_EXTERNALS.some((re) => re.test(e)))).toEqual([]);
      // The implementations are there, in chunks loaded by the actions.
      const all = Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs));
      expect(all.some((i) => i.endsWith('client/src/connection.ts'))).toBe(true);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});
