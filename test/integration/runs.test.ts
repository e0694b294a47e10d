import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExampleRepo } from '@cd4ml/client/demo/example-repo';
import { listRuns } from '@cd4ml/client/runs/list-runs';
import type { RunFilters } from '@cd4ml/client/runs/query';
import { REPO_ROOT, VENV } from '../harness/paths.ts';
import { Stack } from '../harness/stack.ts';

/**
 * `cd4ml runs` and `cd4ml status` against real trainings on the dev server (which registers
 * cd4ml's search attributes): two projects, two locations, accepted and rejected.
 */
describe('cd4ml runs and status (real Temporal visibility, dvc, git)', () => {
  let stack: Stack;
  let diabetes: ExampleRepo;
  const cli = (...args: string[]) =>
    execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', ...args], {
      cwd: REPO_ROOT, reject: false, stdin: 'ignore', env: { TEMPORAL_ADDRESS: stack.env.address, CD4ML_WEB_UI: 'http://ui.example:8080' },
    });
  const ids = async (f: RunFilters) => (await listRuns(stack.client, f)).map((r) => r.id).sort();

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    diabetes = new ExampleRepo(path.join(stack.dir, 'diabetes'), VENV, { example: 'diabetes' });
    await diabetes.create();
    await stack.startControlWorker();
    await stack.startLocationWorker('local');
    await stack.startLocationWorker('other');
    const config = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    await stack.example.writeFile('cd4ml.yaml', config.replace(/locations:\n/, 'locations:\n  other:\n    provider: local\n'), 'cd4ml: a second location');

    expect((await stack.train({ releaseTag: 'v1.0' })).decision).toBe('accepted');
    await stack.example.setParams({ 'train.model': 'decision_tree', 'train.max_depth': 1 }, 'params: a much worse model');
    expect((await stack.train({ releaseTag: 'worse', location: 'other' })).decision).toBe('rejected');
    expect((await stack.train({ project: 'diabetes', repoUrl: diabetes.repoUrl, releaseTag: 'v1.0' })).decision).toBe('accepted');
    // Visibility is eventually consistent: wait until the last training is listed with its decision.
    for (let i = 0; i < 100 && (await ids({ decision: 'accepted', project: 'diabetes' })).length === 0; i++) await new Promise((r) => setTimeout(r, 200));
  }, 900_000);
  afterAll(async () => stack?.stop());

  it('filters by project, location, decision, kind and time', async () => {
    expect(await ids({})).toEqual(['train/diabetes/v1.0', 'train/penguins/v1.0', 'train/penguins/worse']);
    expect(await ids({ project: 'penguins' })).toEqual(['train/penguins/v1.0', 'train/penguins/worse']);
    expect(await ids({ location: 'other' })).toEqual(['train/penguins/worse']);
    expect(await ids({ location: 'local' })).toEqual(['train/diabetes/v1.0', 'train/penguins/v1.0']);
    expect(await ids({ decision: 'accepted' })).toEqual(['train/diabetes/v1.0', 'train/penguins/v1.0']);
    expect(await ids({ project: 'penguins', decision: 'rejected' })).toEqual(['train/penguins/worse']);
    expect(await ids({ project: 'diabetes', location: 'other' })).toEqual([]);
    expect(await ids({ kind: 'train', since: '1h' })).toHaveLength(3);
    expect(await ids({ kind: 'sweep' })).toEqual([]);
    expect(await ids({ since: '2000-01-01' })).toHaveLength(3);
    expect(await ids({ since: `${new Date(Date.now() + 3_600_000).toISOString().slice(0, 10)}T23:59:59Z` })).toEqual([]);

    const [worse] = await listRuns(stack.client, { location: 'other' });
    expect(worse).toMatchObject({ kind: 'train', state: 'completed', decision: 'rejected' });
    expect(worse!.metric).toBeLessThan(0.9);
    expect(worse!.seconds).toBeGreaterThan(0);
  });

  it('prints the table, and refuses a bad filter naming it (exit 2) before connecting', async () => {
    const out = await cli('runs', '--project', 'penguins');
    expect(out.exitCode, out.stderr).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toMatch(/^id +kind +state +decision +metric +duration +cost +started$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual([
      ['train/penguins/worse', 'train', 'completed', 'rejected'],
      ['train/penguins/v1.0', 'train', 'completed', 'accepted'],
    ]);
    expect(lines[2]).toMatch(/accepted +0\.9\d{3} +\d+\.\d s +- +20\d\d-/);
    expect((await cli('runs', '--decision', 'rejected', '--location', 'local')).stdout).toBe('no runs match');

    const bad = await cli('runs', '--decision', 'maybe');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--decision maybe: not a decision; one of accepted, rejected, failed, cancelled');
    const since = await cli('runs', '--since', 'last week');
    expect(since.exitCode).toBe(2);
    expect(since.stderr).toContain('--since last week: not a time span or date');
    expect((await cli('runs', '--project', 'x" OR 1=1')).stderr).toContain('not a project name');
  });

  it('status shows the outcome, search attributes, steps with attempts and the Web UI link', async () => {
    const out = await cli('status', 'train/penguins/worse');
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^train\/penguins\/worse: completed\nREJECTED: worse/);
    expect(out.stdout).toMatch(/search: +project penguins, location other, releaseTag worse, requestedBy test, decision rejected, metric 0\.\d+/);
    expect(out.stdout).toMatch(/web ui: +http:\/\/ui\.example:8080\/namespaces\/default\/workflows\/train%2Fpenguins%2Fworse\/[0-9a-f-]{36}/);
    expect(out.stdout).toMatch(/\n {2}resolveTraining +completed +1 attempt +\d+\.\d s/);
    expect(out.stdout).toMatch(/\n {2}dvcRepro +completed +1 attempt/);
    expect(out.stdout).toMatch(/\n {2}evaluateCandidate +completed/);
  });
});
