// Serving benchmark: cd4ml serve vs a usual FastAPI + onnxruntime server vs a bare
// fastify route (the HTTP ceiling), same payloads, one load generator (autocannon).
//   pnpm exec tsx bench/serving/run.ts [--duration 3] [--repeats 5]
// Each cell is measured `repeats` times in rounds, the three servers taking
// turns in a rotating order, and the median is printed. The ratios at
// concurrency 64 are the medians of the per-round ratios: on a shared 2-core
// VM the machine's speed drifts by +-30% between rounds, which a ratio of
// medians would keep and a per-round ratio cancels.
// bench/serving/compare.ts measures CPU per request, and against another checkout.
// Installs the FastAPI stack into .cd4ml/bench-venv (PyPI) the first time.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import autocannon from 'autocannon';
import { execa } from 'execa';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { ReleaseManifest } from '@cd4ml/contracts';
import { Stack } from '../../test/harness/stack.ts';
import { REPO_ROOT } from '../../test/harness/paths.ts';
import { median, payload, waitReady } from './common.ts';

const durationArg = process.argv.indexOf('--duration');
const DURATION = durationArg > 0 ? Number(process.argv[durationArg + 1]) : 3;
const repeatsArg = process.argv.indexOf('--repeats');
const REPEATS = repeatsArg > 0 ? Number(process.argv[repeatsArg + 1]) : 5;
const ROWS = [1, 64];
const CONNECTIONS = [1, 16, 64];
const BENCH_VENV = path.join(REPO_ROOT, '.cd4ml/bench-venv');

async function ensureBenchVenv(): Promise<string> {
  const python = path.join(BENCH_VENV, 'bin/python');
  if (!existsSync(python)) await execa('python3', ['-m', 'venv', BENCH_VENV]);
  // The same onnxruntime and numpy as the example project, plus FastAPI.
  const pins = readFileSync(path.join(REPO_ROOT, 'examples/penguins/requirements.txt'), 'utf8')
    .split('\n').filter((l) => /^(onnxruntime|numpy)==/.test(l));
  await execa(python, ['-m', 'pip', 'install', '-q', ...pins, '-r', path.join(REPO_ROOT, 'bench/serving/requirements.txt')]);
  return python;
}

/** A real release of the example, trained through cd4ml. */
async function trainRelease(): Promise<{ store: string; manifest: ReleaseManifest; stack: Stack }> {
  const stack = await Stack.start();
  await stack.example.create();
  await stack.startControlWorker();
  await stack.startLocationWorker();
  const result = await stack.train({ releaseTag: 'v1.0' });
  if (result.decision !== 'accepted') throw new Error(`training rejected: ${result.reasons.join('; ')}`);
  // The stack's folder goes away with it: keep the store.
  const store = path.join(REPO_ROOT, '.cd4ml/bench-store');
  await rm(store, { recursive: true, force: true });
  await cp(stack.store, store, { recursive: true });
  const manifest = ReleaseManifest.parse(JSON.parse(readFileSync(path.join(store, 'penguins/v1.0/release.json'), 'utf8')));
  return { store, manifest, stack };
}

function start(name: string, cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d));
  child.stderr?.on('data', (d: Buffer) => (out += d));
  child.on('exit', (code) => code && code !== 143 && console.error(`${name} exited ${code}:\n${out.slice(-2000)}`));
  return child;
}

interface Figures { rps: number; p50: number; p99: number; errors: number }

async function load(url: string, body: string, connections: number): Promise<Figures> {
  const opts = {
    url: `${url}/v2/models/penguins/infer`, method: 'POST' as const, body, connections,
    headers: { 'content-type': 'application/json' },
  };
  await autocannon({ ...opts, duration: 1 }); // warm-up
  const r = await autocannon({ ...opts, duration: DURATION });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.timeouts };
}

Runtime.install({ logger: new DefaultLogger('ERROR') });
const python = await ensureBenchVenv();
const { store, manifest, stack } = await trainRelease();
await stack.stop().catch(() => undefined);

const servers = {
  cd4ml: { port: 18701, proc: start('cd4ml', process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', store, '--project', 'penguins', '--port', '18701']) },
  fastapi: { port: 18702, proc: start('fastapi', python, ['bench/serving/fastapi_server.py', path.join(store, 'penguins/v1.0/model.onnx'), '18702']) },
  bare: { port: 18703, proc: start('bare', process.execPath, ['--import', 'tsx', 'bench/serving/bare-route.ts', '18703']) },
};
try {
  for (const s of Object.values(servers)) await waitReady(`http://127.0.0.1:${s.port}`);
  // Correctness before speed: cd4ml must answer the smoke inputs with outputs.
  const check = await fetch(`http://127.0.0.1:${servers.cd4ml.port}/v2/models/penguins/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: payload(manifest, 1),
  });
  if (!check.ok) throw new Error(`cd4ml answered ${check.status}: ${await check.text()}`);

  const rows: string[] = [];
  const header = 'rows  conc  server    req/s      p50 ms  p99 ms  errors';
  console.log(`\nserving benchmark: median of ${REPEATS} runs of ${DURATION} s per cell (servers in rotating order), ${process.env.HOSTNAME ?? 'this machine'}, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}\n${header}`);
  const at64: Record<string, Record<number, Figures>> = { cd4ml: {}, fastapi: {}, bare: {} };
  const rounds64: Record<number, Record<string, Figures[]>> = {};
  const names = Object.keys(servers) as (keyof typeof servers)[];
  for (const n of ROWS) {
    const body = payload(manifest, n);
    for (const c of CONNECTIONS) {
      const runs: Record<string, Figures[]> = { cd4ml: [], fastapi: [], bare: [] };
      for (let r = 0; r < REPEATS; r++) {
        for (let k = 0; k < names.length; k++) {
          const name = names[(k + r) % names.length]!;
          runs[name]!.push(await load(`http://127.0.0.1:${servers[name].port}`, body, c));
        }
      }
      if (c === 64) rounds64[n] = runs;
      for (const name of names) {
        const rs = runs[name]!;
        const f: Figures = {
          rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)),
          errors: rs.reduce((e, x) => e + x.errors, 0),
        };
        if (c === 64) at64[name]![n] = f;
        const line = `${String(n).padStart(4)}  ${String(c).padStart(4)}  ${name.padEnd(8)}  ${f.rps.toFixed(0).padStart(7)}  ${String(f.p50).padStart(6)}  ${String(f.p99).padStart(6)}  ${f.errors}   (req/s of each run: ${rs.map((x) => x.rps.toFixed(0)).join(', ')})`;
        rows.push(line);
        console.log(line);
      }
    }
  }
  console.log('\nat concurrency 64 (ratios: median of the per-round ratios, then each round):');
  for (const n of ROWS) {
    const c = at64.cd4ml![n]!, f = at64.fastapi![n]!;
    const r = rounds64[n]!;
    const ratios = (other: string): number[] => r.cd4ml!.map((x, i) => x.rps / r[other]![i]!.rps);
    const vsFastapi = ratios('fastapi');
    const vsBare = ratios('bare');
    console.log(
      `  ${n} row(s): cd4ml/fastapi throughput ${median(vsFastapi).toFixed(2)}x (goal >= 3x; ${vsFastapi.map((x) => x.toFixed(1)).join(' ')}), ` +
        `p99 ${c.p99} vs ${f.p99} ms (goal lower); ` +
        `cd4ml/bare ${(100 * median(vsBare)).toFixed(0)}% (goal >= 60%; ${vsBare.map((x) => (100 * x).toFixed(0)).join(' ')})`,
    );
  }
} finally {
  for (const s of Object.values(servers)) s.proc.kill('SIGTERM');
}
