// Printing the serving benchmark: one line per peer and cell (medians, each
// round's req/s, the ratios to MLServer beside them), then the goals at
// concurrency 64. Ratios are medians of per-round ratios: a round runs the
// peers back to back, so the shared VM's drift between rounds cancels.
import type { Figures } from './load.ts';
import { median } from './common.ts';

export type Protocol = 'REST' | 'gRPC';

export interface Cell {
  protocol: Protocol;
  rows: number;
  connections: number;
  /** Per peer, one Figures per round, rounds in the same order for every peer. */
  runs: Record<string, Figures[]>;
}

const BASE = 'mlserver';

function summary(rs: Figures[]): Figures {
  return {
    rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)),
    errors: rs.reduce((e, x) => e + x.errors, 0),
  };
}

/** Median over rounds of peer's req/s divided by other's in the same round. */
export function roundRatios(cell: Cell, peer: string, other: string): number[] {
  return cell.runs[peer]!.map((x, i) => x.rps / cell.runs[other]![i]!.rps);
}

const ms = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(2));

export const HEADER = 'proto  rows  conc  server        req/s    p50 ms  p99 ms  errors  vs mlserver: req/s  p99   (req/s of each round)';

export function cellLines(cell: Cell): string[] {
  const base = cell.runs[BASE] ? summary(cell.runs[BASE]) : undefined;
  return Object.entries(cell.runs).map(([name, rs]) => {
    const f = summary(rs);
    const vs = base && name !== BASE
      ? `${median(roundRatios(cell, name, BASE)).toFixed(1).padStart(8)}x  ${(f.p99 / base.p99).toFixed(2).padStart(5)}x`
      : ''.padStart(17);
    return `${cell.protocol.padEnd(5)}  ${String(cell.rows).padStart(4)}  ${String(cell.connections).padStart(4)}  ${name.padEnd(12)}  ` +
      `${f.rps.toFixed(0).padStart(6)}  ${ms(f.p50).padStart(7)}  ${ms(f.p99).padStart(6)}  ${String(f.errors).padStart(6)}  ${vs}   ` +
      `(${rs.map((x) => x.rps.toFixed(0)).join(', ')})`;
  });
}

/**
 * The goals at concurrency 64, for plain cd4ml and cd4ml with a canary at 25%:
 * against MLServer (both protocols), FastAPI (REST), the bare route (REST's
 * goal; gRPC's figure), and the canary's cost against plain cd4ml.
 */
export function goalLines(cells: Cell[]): string[] {
  const out: string[] = [];
  for (const cell of cells.filter((c) => c.connections === 64)) {
    const ml = summary(cell.runs[BASE]!);
    for (const peer of ['cd4ml', 'cd4ml-canary'].filter((p) => cell.runs[p])) {
      const f = summary(cell.runs[peer]!);
      const vsMl = roundRatios(cell, peer, BASE);
      const ok = median(vsMl) >= 10 && f.p99 < ml.p99;
      let line = `  ${cell.protocol} ${cell.rows} row(s): ${peer}/mlserver ${median(vsMl).toFixed(1)}x req/s (goal >= 10x; rounds ${vsMl.map((x) => x.toFixed(1)).join(' ')}), ` +
        `p99 ${ms(f.p99)} vs ${ms(ml.p99)} ms (goal lower): ${ok ? 'met' : 'NOT met'}`;
      if (cell.runs.fastapi) line += `; ${peer}/fastapi ${median(roundRatios(cell, peer, 'fastapi')).toFixed(1)}x (goal >= 3x)`;
      if (cell.runs.bare) line += `; ${peer}/bare ${(100 * median(roundRatios(cell, peer, 'bare'))).toFixed(0)}%${cell.protocol === 'REST' ? ' (goal >= 60%)' : ''}`;
      if (peer !== 'cd4ml' && cell.runs.cd4ml) {
        line += `; vs plain cd4ml ${(100 * median(roundRatios(cell, peer, 'cd4ml'))).toFixed(0)}% req/s, p99 ${ms(f.p99)} vs ${ms(summary(cell.runs.cd4ml).p99)} ms`;
      }
      out.push(line);
    }
  }
  return out;
}
