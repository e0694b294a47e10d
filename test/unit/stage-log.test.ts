import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryStore } from '@cd4ml/stores';
import { StageLog, parseStageLog } from '@cd4ml/activities/logs/stage-log';
import { printStageLog } from '@cd4ml/client/runs/follow-log';

/** The kept stage log on a real folder store: bounded to its last bytes, and followed across that bound. */
describe('stage logs', () => {
  const dirs: string[] = [];
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });
  const store = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-log-'));
    dirs.push(dir);
    return new DirectoryStore(dir);
  };

  it('keeps only the last maxBytes, saying how much it dropped and how the stage ended', async () => {
    const s = await store();
    const log = new StageLog(s, 'runs/x/log', () => {}, 21, 10_000);
    log.start();
    for (let i = 0; i < 10; i++) log.line(`line ${i}`); // 7 bytes each with the newline
    await log.close('failed');
    const kept = parseStageLog((await s.getText('runs/x/log'))!);
    expect(kept).toEqual({ dropped: 49, state: 'failed', text: 'line 7\nline 8\nline 9\n' });
  });

  it('a write that fails is a warning, never an error of the stage', async () => {
    const warnings: string[] = [];
    const log = new StageLog(await store(), '../outside', (m) => warnings.push(m));
    log.line('x');
    await log.close('ok');
    expect(warnings[0]).toMatch(/could not keep the stage log at .*: store key "\.\.\/outside" is not a plain relative path/);
  });

  it('following prints each byte once, and says what the bound dropped in between', async () => {
    const versions = ['#cd4ml-log dropped=0 state=running\na\nb\n', '#cd4ml-log dropped=4 state=running\nc\nd\n', '#cd4ml-log dropped=8 state=ok\ne\nf\n'];
    let reads = 0;
    const out: string[] = [];
    const printed = await printStageLog({ read: async () => versions[Math.min(reads++, 2)]!, running: async () => true }, (t) => out.push(t), true, 1);
    expect(printed).toBe(true);
    expect(out.join('')).toBe('a\nb\nc\nd\ne\nf\n');

    const gap: string[] = [];
    const stored = ['#cd4ml-log dropped=0 state=running\na\n', '#cd4ml-log dropped=6 state=ok\nd\n'];
    reads = 0;
    await printStageLog({ read: async () => stored[Math.min(reads++, 1)]!, running: async () => true }, (t) => gap.push(t), true, 1);
    expect(gap.join('')).toBe("a\n(... 4 bytes not kept: only the last part of a stage's output is)\nd\n");
  });

  it('without a log: false at once, or once the run has ended when following', async () => {
    expect(await printStageLog({ read: async () => null, running: async () => true }, () => {}, false)).toBe(false);
    let polls = 0;
    expect(await printStageLog({ read: async () => null, running: async () => polls++ < 2 }, () => {}, true, 1)).toBe(false);
    expect(polls).toBe(3);
  });
});
