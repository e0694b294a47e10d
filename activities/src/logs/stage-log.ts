import { STAGE_LOG_MAX_BYTES } from '@cd4ml/contracts/ids';
import type { ReleaseStore } from '@cd4ml/stores';

export type StageLogState = 'running' | 'ok' | 'failed';

/** First line of a kept log: what was dropped from the front and whether the stage still runs, for `logs --follow`. */
export const logHeader = (dropped: number, state: StageLogState) => `#cd4ml-log dropped=${dropped} state=${state}\n`;
const HEADER = /^#cd4ml-log dropped=(\d+) state=(running|ok|failed)\n/;

export interface ParsedStageLog {
  /** Bytes dropped from the front to stay within the bound. */
  dropped: number;
  state: StageLogState;
  text: string;
}

export function parseStageLog(stored: string): ParsedStageLog {
  const m = HEADER.exec(stored);
  if (!m) return { dropped: 0, state: 'ok', text: stored };
  return { dropped: Number(m[1]), state: m[2] as StageLogState, text: stored.slice(m[0].length) };
}

/**
 * A stage's output, written to the store while the stage runs (at most every `flushMs`) and once
 * more when it ends; only its last `maxBytes` are kept. A write that fails is reported, never
 * fails the stage: the log is for people, the stage's result does not depend on it.
 */
export class StageLog {
  private lines: string[] = [];
  private bytes = 0;
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ReleaseStore, private readonly key: string,
    private readonly warn: (msg: string) => void, private readonly maxBytes = STAGE_LOG_MAX_BYTES, private readonly flushMs = 2000,
  ) {}

  /** An empty log marked running: `logs --follow` knows the stage has begun. */
  start(): void {
    this.flush('running');
  }

  line(text: string): void {
    const line = `${text}\n`;
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line);
    while (this.bytes > this.maxBytes && this.lines.length > 1) {
      const first = Buffer.byteLength(this.lines.shift()!);
      this.bytes -= first;
      this.dropped += first;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush('running');
    }, this.flushMs);
  }

  /** The last write, saying how the stage ended. */
  async close(state: 'ok' | 'failed'): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush(state);
    await this.writing;
  }

  private where(): string {
    try {
      return this.store.locate(this.key);
    } catch {
      return `${this.store.url} key ${this.key}`;
    }
  }

  /** Writes are chained: a slow store never sees an older text land after a newer one. */
  private flush(state: StageLogState): void {
    const text = logHeader(this.dropped, state) + this.lines.join('');
    this.writing = this.writing.then(() => this.store.putText(this.key, text)).catch((err: unknown) => {
      this.warn(`could not keep the stage log at ${this.where()}: ${(err as Error).message}`);
    });
  }
}
