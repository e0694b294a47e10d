// `make bench-cli`: how fast the cd4ml command answers, side by side with the Temporal CLI on
// the same dev server and the same training (issue 16). Median and fastest wall time of
// --runs runs of each, interleaved so load on the machine falls on all alike:
//   cd4ml --help, cd4ml status <id>      built JavaScript (make build), and via tsx for reference
//   temporal workflow describe           the baseline
// Goals: status within 8x of temporal and under 0.5 s; --help under 0.3 s.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { Stack } from '../test/harness/stack.ts';
import { REPO_ROOT, TEMPORAL_BIN } from '../test/harness/paths.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '11' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of runs, not "${values.runs}"`);
const builtCli = path.join(REPO_ROOT, 'client/dist/cli.js');
if (!existsSync(builtCli)) throw new Error(`${builtCli} is missing: run "make build" first (make bench-cli does)`);

interface Case { name: string; argv: string[]; goal?: (median: number, temporal: number) => string }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const stack = await Stack.start();
try {
  await stack.example.create();
  await stack.spawnWorker('control', 'local', {}, { built: true });
  await stack.spawnWorker('location', 'local', {}, { built: true });
  const id = 'train/penguins/v1.0';
  console.log(`training ${id} once, to have a completed run to describe ...`);
  await stack.train({ releaseTag: 'v1.0' });

  const node = process.execPath;
  const cases: Case[] = [
    { name: 'temporal workflow describe', argv: [TEMPORAL_BIN, 'workflow', 'describe', '--workflow-id', id, '--address', stack.env.address] },
    { name: 'cd4ml status (built)', argv: [node, builtCli, 'status', id], goal: (m, t) => `${m < 0.5 && m / t <= 8 ? 'met' : 'MISSED'} (< 0.5 s, <= 8x)` },
    { name: 'cd4ml --help (built)', argv: [node, builtCli, '--help'], goal: (m) => `${m < 0.3 ? 'met' : 'MISSED'} (< 0.3 s)` },
    { name: 'cd4ml status (tsx)', argv: [node, '--import', 'tsx', 'client/src/cli.ts', 'status', id] },
    { name: 'cd4ml --help (tsx)', argv: [node, '--import', 'tsx', 'client/src/cli.ts', '--help'] },
  ];
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      const t0 = performance.now();
      const r = await execa(c.argv[0]!, c.argv.slice(1), { cwd: REPO_ROOT, reject: false, env: { TEMPORAL_ADDRESS: stack.env.address } });
      const s = (performance.now() - t0) / 1000;
      if (r.exitCode !== 0) throw new Error(`${c.name} failed (exit ${r.exitCode}): ${r.stderr || r.stdout}`);
      times.get(c.name)!.push(s);
    }
  }
  const temporal = median(times.get(cases[0]!.name)!);
  console.log(`\n${runs} runs each, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`${'command'.padEnd(28)} ${'median s'.padStart(9)} ${'fastest s'.padStart(10)} ${'vs temporal'.padStart(12)}  goal`);
  for (const c of cases) {
    const xs = times.get(c.name)!;
    const m = median(xs);
    console.log(`${c.name.padEnd(28)} ${m.toFixed(3).padStart(9)} ${Math.min(...xs).toFixed(3).padStart(10)} ${`${(m / temporal).toFixed(1)}x`.padStart(12)}  ${c.goal?.(m, temporal) ?? ''}`);
  }
} finally {
  await stack.stop();
}
