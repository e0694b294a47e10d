// The serving request path, measured closely: cd4ml serve against the bare
// route, and optionally against another checkout of cd4ml (a worktree of an
// earlier commit), at concurrency 64.
//   pnpm exec tsx bench/serving/compare.ts [--against <checkout>] [--binary] [--rows 1,64] [--duration 3] [--repeats 5]
// --binary adds cd4ml with the binary tensor data extension both ways (the same server).
// Prints per server the median req/s and the CPU µs it spent per request (main
// thread; other threads: GC helpers and inference), and the median of the
// per-round ratios to the bare route: a round runs the servers back to back,
// so the machine's drift between rounds (+-30% on a shared VM) cancels out.
// Uses the release `make bench-serving` leaves in .cd4ml/bench-store.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { ReleaseManifest } from '@cd4ml/contracts';
import { REPO_ROOT } from '../../test/harness/paths.ts';
import { binaryPayload, median, payload, processCpuUs, waitReady } from './common.ts';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const AGAINST = arg('against') && path.resolve(arg('against')!);
const ROWS = (arg('rows') ?? '1,64').split(',').map(Number);
const DURATION = Number(arg('duration') ?? 3);
const REPEATS = Number(arg('repeats') ?? 5);
const STORE = path.join(REPO_ROOT, '.cd4ml/bench-store');

let manifest: ReleaseManifest;
try {
  manifest = ReleaseManifest.parse(JSON.parse(readFileSync(path.join(STORE, 'penguins/v1.0/release.json'), 'utf8')));
} catch {
  throw new Error(`no release in ${STORE}: run make bench-serving once, it trains one and keeps it there`);
}

const start = (cwd: string, args: string[]): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', ...args], { cwd, stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn' } });
const serve = (port: number): string[] => ['client/src/cli.ts', 'serve', '--store', STORE, '--project', 'penguins', '--port', String(port)];
const BINARY = process.argv.includes('--binary');
const cd4ml = { port: 18781, proc: start(REPO_ROOT, serve(18781)) };
const servers: Record<string, { port: number; proc: ChildProcess; binary?: boolean }> = {
  cd4ml,
  ...(BINARY ? { binary: { ...cd4ml, binary: true } } : {}),
  ...(AGAINST ? { against: { port: 18782, proc: start(AGAINST, serve(18782)) } } : {}),
  bare: { port: 18783, proc: start(REPO_ROOT, ['bench/serving/bare-route.ts', '18783']) },
};

try {
  for (const s of Object.values(servers)) await waitReady(`http://127.0.0.1:${s.port}`);
  console.log(`cd4ml = ${REPO_ROOT}${AGAINST ? `, against = ${AGAINST}` : ''}; median of ${REPEATS} rounds of ${DURATION} s, concurrency 64`);
  const names = Object.keys(servers);
  for (const rows of ROWS) {
    const body = payload(manifest, rows);
    const binary = binaryPayload(manifest, rows);
    const runs: Record<string, { rps: number; main: number; other: number }[]> = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < REPEATS; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + r) % names.length]!;
        const s = servers[name]!;
        const opts = {
          url: `http://127.0.0.1:${s.port}/v2/models/penguins/infer`, method: 'POST' as const, connections: 64,
          ...(s.binary ? binary : { body, headers: { 'content-type': 'application/json' } }),
        };
        await autocannon({ ...opts, duration: 1 }); // warm-up
        const before = processCpuUs(s.proc.pid!);
        const res = await autocannon({ ...opts, duration: DURATION });
        const after = processCpuUs(s.proc.pid!);
        if (res.non2xx + res.errors > 0) throw new Error(`${name}: ${res.non2xx + res.errors} failed requests`);
        const n = res.requests.total;
        runs[name]!.push({ rps: res.requests.average, main: (after.main - before.main) / n, other: (after.other - before.other) / n });
      }
    }
    for (const name of names) {
      const rs = runs[name]!;
      const ratios = rs.map((x, i) => (100 * x.rps) / runs.bare![i]!.rps);
      console.log(
        `${String(rows).padStart(4)} rows  ${name.padEnd(7)} ${median(rs.map((x) => x.rps)).toFixed(0).padStart(6)} req/s  ` +
          `CPU µs/req: main ${median(rs.map((x) => x.main)).toFixed(0).padStart(3)}, other threads ${median(rs.map((x) => x.other)).toFixed(0).padStart(2)}  ` +
          (name === 'bare' ? '' : `of bare: median ${median(ratios).toFixed(0)}% (rounds: ${ratios.map((x) => x.toFixed(0)).join(' ')})`),
      );
    }
  }
} finally {
  for (const s of Object.values(servers)) s.proc.kill('SIGTERM');
}
