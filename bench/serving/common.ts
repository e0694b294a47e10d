// Shared by the serving benchmarks: the request bodies and process helpers.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReleaseManifest } from '@cd4ml/contracts';

/**
 * An OIP v2 request of `rows` rows, cycling through the release's smoke inputs.
 * No id: a canary splits requests on a hash of their id, so one id for every
 * request would send them all to one side; without one each gets a random one.
 */
export function payload(manifest: ReleaseManifest, rows: number): string {
  const smoke = manifest.smoke.inputs[0]!;
  const width = smoke.shape[1]!;
  const source = smoke.data as number[];
  const sourceRows = source.length / width;
  const data: number[] = [];
  for (let r = 0; r < rows; r++) data.push(...source.slice((r % sourceRows) * width, (r % sourceRows + 1) * width));
  return JSON.stringify({ inputs: [{ name: smoke.name, shape: [rows, width], datatype: smoke.datatype, data }] });
}

/**
 * The same request with the binary tensor data extension both ways (as Triton's
 * client sends by default): a JSON header, then the FP32 input bytes.
 */
export function binaryPayload(manifest: ReleaseManifest, rows: number): { body: Buffer; headers: Record<string, string> } {
  const json = JSON.parse(payload(manifest, rows)) as { id?: string; inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
  const input = json.inputs[0]!;
  const bytes = Buffer.from(new Float32Array(input.data).buffer);
  const header = Buffer.from(JSON.stringify({
    id: json.id,
    inputs: [{ name: input.name, shape: input.shape, datatype: input.datatype, parameters: { binary_data_size: bytes.length } }],
    parameters: { binary_data_output: true },
  }));
  return {
    body: Buffer.concat([header, bytes]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  };
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
