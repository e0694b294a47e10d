// Shared by the serving benchmarks: the request bodies and process helpers.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReleaseManifest } from '@cd4ml/contracts';

/** An OIP v2 request of `rows` rows, cycling through the release's smoke inputs. */
export function payload(manifest: ReleaseManifest, rows: number): string {
  const smoke = manifest.smoke.inputs[0]!;
  const width = smoke.shape[1]!;
  const source = smoke.data as number[];
  const sourceRows = source.length / width;
  const data: number[] = [];
  for (let r = 0; r < rows; r++) data.push(...source.slice((r % sourceRows) * width, (r % sourceRows + 1) * width));
  return JSON.stringify({ id: 'bench', inputs: [{ name: smoke.name, shape: [rows, width], datatype: smoke.datatype, data }] });
}

export async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${url}/v2/health/ready`).then((r) => r.ok, () => false)) return;
    await sleep(200);
  }
  throw new Error(`${url} never became ready`);
}

/**
 * CPU time (user + system, µs) a process has used so far: its main thread,
 * and all its other threads (V8's GC helpers, inference workers). Linux /proc.
 */
export function processCpuUs(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const us = (Number(f[11]) + Number(f[12])) * 1e4; // clock ticks of 10 ms (USER_HZ 100)
      if (Number(tid) === pid) main += us;
      else other += us;
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return { main, other };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
