import { setTimeout as sleep } from 'node:timers/promises';
import { parseStageLog, type ParsedStageLog } from '@cd4ml/activities/logs/stage-log';

export interface LogSource {
  /** The stored log, or null while there is none. */
  read(): Promise<string | null>;
  /** Whether the run can still write to it. */
  running(): Promise<boolean>;
}

/**
 * Prints a kept stage log; with `follow`, keeps printing what the stage adds until it ends
 * (or the run ends without it). Returns false when there was never a log to print.
 */
export async function printStageLog(source: LogSource, out: (text: string) => void, follow: boolean, pollMs = 1000): Promise<boolean> {
  let printed = 0; // bytes of the whole output printed so far, counting what the bound dropped
  let seen = false;
  for (;;) {
    // Read whether the run is alive before the log: a run that ended after this read wrote its last text already.
    const alive = follow && (await source.running());
    const stored = await source.read();
    if (stored !== null) {
      seen = true;
      const log = parseStageLog(stored);
      printed = printNew(log, printed, out);
      if (log.state !== 'running') return true;
    }
    if (!alive) return seen;
    await sleep(pollMs);
  }
}

function printNew(log: ParsedStageLog, printed: number, out: (text: string) => void): number {
  const bytes = Buffer.from(log.text);
  if (printed < log.dropped) out(`(... ${log.dropped - printed} bytes not kept: only the last part of a stage's output is)\n`);
  const from = Math.max(printed - log.dropped, 0);
  if (from < bytes.length) out(bytes.subarray(from).toString('utf8'));
  return log.dropped + bytes.length;
}
