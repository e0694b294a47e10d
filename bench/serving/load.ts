// The two load generators, each the same for every peer: autocannon for REST
// (OIP v2 JSON), ghz for gRPC (OIP GRPCInferenceService/ModelInfer). ghz is a
// compiled Go load generator that parses its JSON message once and reuses it: it
// does not pay Python's per-call cost (tritonclient) nor share one JS thread
// with its own encoding (a @grpc/grpc-js client), so on a 2-core VM shared
// with the servers it leaves the most CPU to the server under test.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { execa } from 'execa';
import type { ReleaseManifest } from '@cd4ml/contracts';
import { REPO_ROOT } from '../../test/harness/paths.ts';

export interface Figures { rps: number; p50: number; p99: number; errors: number }

const GHZ_VERSION = 'v0.120.0';
const GHZ = path.join(homedir(), '.cache/cd4ml', `ghz-${GHZ_VERSION}`, 'ghz');
const PROTO = path.join(REPO_ROOT, 'serving/proto/grpc_predict_v2.proto');

/** ghz from the Go module proxy, built once and cached beside the bootstrap's Temporal builds. */
export async function ensureGhz(): Promise<string> {
  if (existsSync(GHZ)) return GHZ;
  console.log(`building ghz ${GHZ_VERSION} with go install (a few minutes, once) into ${path.dirname(GHZ)}`);
  await execa('go', ['install', '-ldflags=-s -w', `github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}`], {
    env: { CGO_ENABLED: '0', GOBIN: path.dirname(GHZ) }, stdio: 'inherit',
  });
  return GHZ;
}

export async function restLoad(url: string, body: string, connections: number, duration: number): Promise<Figures> {
  const opts = {
    url: `${url}/v2/models/penguins/infer`, method: 'POST' as const, body, connections,
    headers: { 'content-type': 'application/json' },
  };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  const r = await autocannon({ ...opts, duration });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

/** The proto3 `contents` field of each datatype the example's models use. */
const CONTENTS: Record<string, string> = {
  FP32: 'fp32_contents', FP64: 'fp64_contents', INT32: 'int_contents', INT64: 'int64_contents', BOOL: 'bool_contents',
};

let requestDir: string | undefined;

/** Removes the request files grpcRequestFile wrote. */
export async function removeRequestFiles(): Promise<void> {
  if (requestDir) await rm(requestDir, { recursive: true, force: true });
}

/**
 * The gRPC twin of the REST JSON body (payload() in common.ts): the same
 * tensor in typed contents, written as protobuf JSON for ghz. Returns its file.
 */
export async function grpcRequestFile(restBody: string, rows: number): Promise<string> {
  const req = JSON.parse(restBody) as { id?: string; inputs: { name: string; shape: number[]; datatype: string; data: unknown[] }[] };
  const message = {
    model_name: 'penguins', id: req.id,
    inputs: req.inputs.map((t) => {
      const field = CONTENTS[t.datatype];
      if (!field) throw new Error(`bench: no gRPC contents field for ${t.datatype}`);
      return { name: t.name, datatype: t.datatype, shape: t.shape, contents: { [field]: t.data } };
    }),
  };
  requestDir ??= await mkdtemp(path.join(tmpdir(), 'cd4ml-bench-serving-'));
  const file = path.join(requestDir, `infer-${rows}.json`);
  await writeFile(file, JSON.stringify(message));
  return file;
}

interface GhzReport {
  rps: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution: Record<string, number>;
}

async function ghz(target: string, requestFile: string, concurrency: number, seconds: number): Promise<GhzReport> {
  // One connection, as a gRPC client's channel multiplexes its calls over one HTTP/2 connection.
  const { stdout } = await execa(GHZ, [
    '--insecure', '--proto', PROTO, '--call', 'inference.GRPCInferenceService.ModelInfer',
    '-D', requestFile, '-c', String(concurrency), '--connections', '1', '-z', `${seconds}s`,
    '--duration-stop', 'wait', '--format', 'json', target,
  ], { reject: false });
  return JSON.parse(stdout) as GhzReport;
}

export async function grpcLoad(target: string, requestFile: string, concurrency: number, duration: number): Promise<Figures> {
  await ghz(target, requestFile, concurrency, 1); // warm-up
  const r = await ghz(target, requestFile, concurrency, duration);
  const at = (p: number): number => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const errors = Object.entries(r.statusCodeDistribution ?? {}).reduce((e, [code, n]) => (code === 'OK' ? e : e + n), 0);
  return { rps: r.rps, p50: at(50), p99: at(99), errors };
}
