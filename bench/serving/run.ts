// Serving benchmark: cd4ml serve vs MLServer (custom onnxruntime runtime) vs a
// usual FastAPI + onnxruntime server vs a bare fastify route (the HTTP
// ceiling), and cd4ml serving a canary at 25% (cd4ml-canary: live v1.0 and a
// candidate v1.1 held at its 25% step), same OIP v2 requests; REST through autocannon, and gRPC (cd4ml
// --grpc-port and MLServer's) through ghz.
//   pnpm exec tsx bench/serving/run.ts [--duration 3] [--repeats 5] [--protocols REST,gRPC] [--reuse-store]
// Each cell is measured `repeats` times in rounds, the peers taking turns in a
// rotating order, and the median is printed; ratios are medians of per-round
// ratios (see report.ts). --reuse-store skips training when .cd4ml/bench-store
// already holds the release from an earlier run.
// bench/serving/compare.ts measures CPU per request, and against another checkout.
// Installs FastAPI into .cd4ml/bench-venv and MLServer into
// .cd4ml/bench-mlserver-venv (PyPI), and builds ghz (Go module proxy), the first time.
import { existsSync, readFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ReleaseManifest } from '@cd4ml/contracts';
import { Stack } from '../../test/harness/stack.ts';
import { REPO_ROOT } from '../../test/harness/paths.ts';
import { payload, waitReady } from './common.ts';
import { ensureGhz, grpcLoad, grpcRequestFile, removeRequestFiles, restLoad, type Figures } from './load.ts';
import { CANARY_SHARE, canaryStore, ensureVenv, startPeers, type Peer } from './peers.ts';
import { cellLines, goalLines, HEADER, type Cell, type Protocol } from './report.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const DURATION = Number(arg('duration') ?? 3);
const REPEATS = Number(arg('repeats') ?? 5);
const ROWS = [1, 64];
const PROTOCOLS = (arg('protocols') ?? 'REST,gRPC').split(',') as Protocol[];
const CONNECTIONS = [1, 16, 64];
const STORE = path.join(REPO_ROOT, '.cd4ml/bench-store');
const MANIFEST = path.join(STORE, 'penguins/v1.0/release.json');

/** A real release of the example, trained through cd4ml, kept in STORE. */
async function trainRelease(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const stack = await Stack.start();
  try {
    await stack.example.create();
    await stack.startControlWorker();
    await stack.startLocationWorker();
    const result = await stack.train({ releaseTag: 'v1.0' });
    if (result.decision !== 'accepted') throw new Error(`training rejected: ${result.reasons.join('; ')}`);
    // The stack's folder goes away with it: keep the store.
    await rm(STORE, { recursive: true, force: true });
    await cp(stack.store, STORE, { recursive: true });
  } finally {
    await stack.stop().catch(() => undefined);
  }
}

/** Correctness before speed: every peer but the bare route answers the smoke inputs with the model's outputs. */
async function checkAnswers(peers: Peer[], body: string, outputs: string[]): Promise<void> {
  for (const p of peers.filter((x) => x.name !== 'bare')) {
    const res = await fetch(`${p.rest}/v2/models/penguins/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await res.text();
    if (!res.ok) throw new Error(`${p.name} answered ${res.status}: ${text}`);
    const names = (JSON.parse(text) as { outputs: { name: string }[] }).outputs.map((o) => o.name).sort();
    if (names.join() !== [...outputs].sort().join()) throw new Error(`${p.name} answered outputs ${names.join()}, the model has ${outputs.join()}`);
  }
}

/** JIT, pools and connections warm before the first cell (each cell adds a 1 s warm-up of its own). */
async function warmUp(peers: Peer[], body: string, grpcFile: string): Promise<void> {
  for (const p of peers) {
    await restLoad(p.rest, body, 16, 2);
    if (p.grpc) await grpcLoad(p.grpc, grpcFile, 16, 2);
  }
}

/** One cell: every peer that speaks the protocol, `REPEATS` rounds, the order rotating each round. */
async function measure(protocol: Protocol, peers: Peer[], rows: number, connections: number, body: string, grpcFile: string): Promise<Cell> {
  const runs: Record<string, Figures[]> = Object.fromEntries(peers.map((p) => [p.name, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + r) % peers.length]!;
      runs[p.name]!.push(protocol === 'REST'
        ? await restLoad(p.rest, body, connections, DURATION)
        : await grpcLoad(p.grpc!, grpcFile, connections, DURATION));
    }
  }
  return { protocol, rows, connections, runs };
}

/** The canary peer's own count of the requests each side answered in its step (GET /v2/models/penguins). */
async function canarySplit(p: Peer): Promise<string> {
  const res = await fetch(`${p.rest}/v2/models/penguins`);
  const body = (await res.json()) as { cd4ml?: { rollout?: { candidate: string; share: number; figures: { requests: number; liveRequests: number } | null } | null } };
  const r = body.cd4ml?.rollout;
  if (!r?.figures) throw new Error(`cd4ml-canary has no rollout running (GET ${p.rest}/v2/models/penguins: ${JSON.stringify(body.cd4ml)}); the canary was never measured`);
  const { requests, liveRequests } = r.figures;
  return `  cd4ml-canary split: candidate ${r.candidate} answered ${requests} of ${requests + liveRequests} requests ` +
    `(${(100 * requests / (requests + liveRequests)).toFixed(1)}%, step share ${100 * r.share}%, configured ${CANARY_SHARE}%); metrics on every request`;
}

if (!process.argv.includes('--reuse-store') || !existsSync(MANIFEST)) await trainRelease();
const manifest = ReleaseManifest.parse(JSON.parse(readFileSync(MANIFEST, 'utf8')));
const [fastapiPython, mlserverPython] = await Promise.all([
  ensureVenv(path.join(REPO_ROOT, '.cd4ml/bench-venv'), 'requirements.txt'),
  ensureVenv(path.join(REPO_ROOT, '.cd4ml/bench-mlserver-venv'), 'mlserver-requirements.txt'),
]);
await ensureGhz();
const peers = await startPeers({ store: STORE, canaryStore: await canaryStore(STORE), model: path.join(STORE, 'penguins/v1.0/model.onnx'), fastapiPython, mlserverPython });
try {
  for (const p of peers) await waitReady(p.rest);
  await checkAnswers(peers, payload(manifest, 1), manifest.model.outputs.map((o) => o.name));
  const grpcPeers = peers.filter((p) => p.grpc);
  await warmUp(peers, payload(manifest, 1), await grpcRequestFile(payload(manifest, 1), 1));
  console.log(
    `\nserving benchmark: median of ${REPEATS} runs of ${DURATION} s per cell, peers interleaved (rotating order each round); ` +
      `REST via autocannon, gRPC via ghz (typed contents, one connection)\n` +
      `machine: ${process.env.HOSTNAME ?? 'this machine'}, 2 cores shared with other engineers' work (load average ${loadavg()[0]!.toFixed(1)} at start): ` +
      `absolute figures drift between rounds, the per-round ratios less\n${HEADER}`,
  );
  const cells: Cell[] = [];
  for (const protocol of PROTOCOLS) {
    for (const rows of ROWS) {
      const body = payload(manifest, rows);
      const grpcFile = await grpcRequestFile(body, rows);
      for (const c of CONNECTIONS) {
        const cell = await measure(protocol, protocol === 'REST' ? peers : grpcPeers, rows, c, body, grpcFile);
        cells.push(cell);
        for (const line of cellLines(cell)) console.log(line);
      }
    }
  }
  console.log(`\nat concurrency 64 (load average ${loadavg()[0]!.toFixed(1)} at the end):`);
  for (const line of goalLines(cells)) console.log(line);
  console.log(await canarySplit(peers.find((p) => p.name === 'cd4ml-canary')!));
} finally {
  for (const p of peers) p.proc.kill('SIGTERM');
  await removeRequestFiles();
}
