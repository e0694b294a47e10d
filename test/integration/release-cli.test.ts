import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirectoryStore } from '@cd4ml/stores';
import { releaseProgram } from '../../client/src/commands/release.ts';
import { readServingState } from '../../serving/src/channels/store.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { PROJECT, TestStore, goodModel, manifestFor } from '../fixtures/serving/store.ts';

// `cd4ml release list|promote|rollback|status` on a real folder store: the
// commander program the CLI registers, run in this process (the spawned-process
// path, with serving replicas following it, is in serving-release-s3.test.ts).

let store: TestStore;

/** Runs `cd4ml release <args>` and returns what it printed; a refusal rejects with its message. */
async function release(...args: string[]): Promise<string> {
  const program = releaseProgram();
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    await program.parseAsync(['release', ...args, '--store', store.dir, '--project', PROJECT], { from: 'user' });
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

const state = async () => (await readServingState(new DirectoryStore(store.dir), PROJECT)).state;

beforeEach(() => {
  store = new TestStore();
  store.writeRelease('v1', goodModel());
  store.publish('v1');
  store.writeRelease('v2', goodModel());
  const rejected = { ...manifestFor('v3', goodModel()), checks: [{ name: 'accuracy-not-worse', passed: false, detail: 'worse' }] };
  store.writeRelease('v3', goodModel(), rejected);
  const staged = join(store.dir, PROJECT, '.candidates', 'v4');
  mkdirSync(staged, { recursive: true });
  writeFileSync(join(staged, 'release.json'), JSON.stringify(manifestFor('v4', goodModel())));
});
afterEach(() => store.remove());

describe('cd4ml release', () => {
  it('list: every release with its created time, metric, gate decision and serving state', async () => {
    const out = (await release('list')).split('\n');
    expect(out[0]).toBe('tag\tcreated\tmetric\tgate\tserving');
    expect(out.find((l) => l.startsWith('v1\t'))).toMatch(/^v1\t\d{4}-\d\d-\d\dT[^\t]+\taccuracy 0.97\taccepted\tlive$/);
    expect(out.find((l) => l.startsWith('v2\t'))).toMatch(/\taccepted\t-$/);
    expect(out.find((l) => l.startsWith('v3\t'))).toMatch(/\tfailed checks\t-$/);
    expect(out.some((l) => l.startsWith('v4\t'))).toBe(false); // staged only, never published
  });

  it('promote refuses unknown tags, tags that never passed the gate, and bad rollout settings, naming what to fix', async () => {
    await expect(release('promote', 'v9')).rejects.toThrow(/penguins has no release v9 in .*; see `cd4ml release list --project penguins`/);
    await expect(release('promote', 'v4')).rejects.toThrow(/v4 never passed the gate \(it is only a staged candidate\)/);
    await expect(release('promote', 'v3')).rejects.toThrow(/v3 did not pass the gate \(accuracy-not-worse failed\)/);
    await expect(release('promote', 'v2', '--steps', '5,25')).rejects.toThrow(/steps: the last step must be 100 \(percent\), got \[5,25\][\s\S]*fix --steps/);
    await expect(release('promote', 'v2', '--steps', '50,25,100')).rejects.toThrow(/steps\.1: steps must rise, got 50 then 25/);
    await expect(release('promote', 'v2', '--max-error-rate', '2')).rejects.toThrow(/maxErrorRate: a rate between 0 and 1[\s\S]*fix --max-error-rate/);
    await expect(release('promote', 'v2', '--max-output-shift', '-1')).rejects.toThrow(/maxOutputShift: a shift between 0 and 1/);
    await expect(release('promote', 'v2', '--step-time', 'soon')).rejects.toThrow(/stepTime: a duration such as 90s/);
    await expect(release('promote', 'v2', '--mode', 'blue-green')).rejects.toThrow(/mode: .*canary/);
    expect((await state()).candidate).toBeNull(); // nothing was written by a refusal
    expect((await state()).history).toEqual([]);
  });

  it('promote a canary, status shows its step and limits, rollback stops it and status says why', async () => {
    const started = await release('promote', 'v2', '--mode', 'canary', '--steps', '10,100', '--step-time', '1h', '--max-p99-ms', '80');
    expect(started).toMatch(/rollout: v2 canary step 1 of 2 \(10% -> 100%\): 10% since/);
    expect((await state()).candidate).toMatchObject({ tag: 'v2', step: 0, rollout: { mode: 'canary', steps: [10, 100], stepTime: '1h', maxP99Ms: 80 } });
    await expect(release('promote', 'v2')).rejects.toThrow(/a canary rollout of v2 is running .* `cd4ml release rollback --project penguins`/);

    const status = await release('status');
    expect(status).toMatch(/^penguins: live v1\n/);
    expect(status).toMatch(/figures: none yet/);
    expect(status).toMatch(/start v2 by cli:.*: canary 10% -> 100%, 1h a step/);

    await release('rollback');
    const after = await release('status');
    expect(after).toMatch(/rollout: none/);
    expect(after).toMatch(/last rollback: v2 at .*, because asked for on the command line/);
    expect((await state())).toMatchObject({ live: 'v1', candidate: null });
  });

  it('promote directly and roll back to the previous live release; nothing earlier is refused', async () => {
    await release('promote', 'v2');
    expect(await state()).toMatchObject({ live: 'v2', previous: ['v1'] });
    expect(await release('list')).toMatch(/\nv1\t.*\tprevious\n/);
    await release('rollback');
    expect(await state()).toMatchObject({ live: 'v1', previous: [] });
    await expect(release('rollback')).rejects.toThrow(/penguins has no earlier live release to roll back to \(live: v1\)/);
  });

  const serveFrom = (dir: string, ...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'serve', '--store', dir, ...args], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000,
  });
  const serve = (...args: string[]) => serveFrom(store.dir, ...args);

  it('`cd4ml serve --grpc-port` with a bad value names --grpc-port', () => {
    const r = serve('--project', PROJECT, '--grpc-port', '70000');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--grpc-port must be an integer 0..65535, got 70000');
    expect(r.stderr).not.toMatch(/(^|[^-])--port must/);
  });

  it('`cd4ml serve` needs a project (named, or in the store), each named once, and pins --tag for one project only', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cd4ml-empty-store-'));
    try {
      expect(serveFrom(empty, '--port', '0').stderr).toContain(`serve: the store ${empty} has no project folders`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(serve('--port', '0', '--project', PROJECT, '--project', PROJECT).stderr).toContain(`serve: project ${PROJECT} is named twice`);
    expect(serve('--port', '0', '--project', PROJECT, '--project', 'other', '--tag', 'v1').stderr).toContain('serve: --tag pins one project\'s release');
  });
});
