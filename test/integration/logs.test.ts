import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageLogKey, type TrainingProgress } from '@cd4ml/contracts';
import { progressQuery } from '@cd4ml/workflows/queries';
import { REPO_ROOT } from '../harness/paths.ts';
import { Stack } from '../harness/stack.ts';

/**
 * `cd4ml logs`: the location keeps dvc repro's output per run in the release store while it runs
 * (real Temporal, dvc, git, a folder store), so a failed stage is read without a shell on the machine.
 */
describe('cd4ml logs (real Temporal, dvc, git)', () => {
  let stack: Stack;
  let trainPy: string;
  const cliArgs = (...args: string[]) => ['--import', 'tsx', 'client/src/cli.ts', ...args];
  const env = () => ({ TEMPORAL_ADDRESS: stack.env.address });
  const cli = (...args: string[]) => execa(process.execPath, cliArgs(...args), { cwd: REPO_ROOT, reject: false, stdin: 'ignore', env: env() });

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    await stack.startControlWorker();
    await stack.startLocationWorker();
    trainPy = await readFile(path.join(stack.example.workDir, 'src/train.py'), 'utf8');
  }, 300_000);
  afterAll(async () => stack?.stop());

  it("a failed stage: its last lines, kept in the store under the run's id", async () => {
    await stack.example.setParams({ 'train.model': 'nope' }, 'params: no such model');
    const handle = await stack.startTraining({ releaseTag: 'broken' });
    await expect(handle.result()).rejects.toThrow();
    const out = await cli('logs', 'train/penguins/broken');
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toContain("Running stage 'train'");
    expect(out.stdout.trimEnd().split('\n').slice(-3).join('\n')).toContain("train.model: expected logistic_regression or decision_tree, got 'nope'");
    expect(out.stdout).not.toContain('#cd4ml-log');
    const { runId } = await handle.describe();
    expect(existsSync(path.join(stack.store, stageLogKey('train/penguins/broken', runId, 'dvc-repro')))).toBe(true);
    await stack.example.setParams({ 'train.model': 'logistic_regression' }, 'params: back');
  });

  it('--follow streams a running stage and ends with it', async () => {
    // The train stage waits for a file the test writes: the stream is seen while the stage runs, with no clock involved.
    const go = path.join(stack.dir, 'go-on');
    const waiting = `import os, time\nprint("train: waiting for the test", flush=True)\nwhile not os.path.exists(${JSON.stringify(go)}): time.sleep(0.2)\nprint("train: going on", flush=True)\n`;
    await stack.example.writeFile('src/train.py', trainPy.replace('"""\n', `"""\n${waiting}`), 'train: wait for the test');
    const handle = await stack.startTraining({ releaseTag: 'slow' });
    for (;;) {
      const p: TrainingProgress = await handle.query(progressQuery);
      if (p.stage === 'dvc-repro') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const follow = execa(process.execPath, cliArgs('logs', 'train/penguins/slow', '--follow'), { cwd: REPO_ROOT, reject: false, stdin: 'ignore', env: env() });
    let seen = '';
    await new Promise<void>((resolve) => {
      follow.stdout!.on('data', (c: Buffer) => {
        seen += c.toString();
        if (seen.includes('train: waiting for the test')) resolve();
      });
    });
    // Streamed while the stage still blocks: the line came from the running stage, not from its end.
    expect((await handle.query(progressQuery)).stage).toBe('dvc-repro');
    expect(seen).not.toContain('train: going on');
    await writeFile(go, '');
    const done = await follow;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/train: waiting for the test\n(.*\n)*train: going on\n(.*\n)*Running stage 'evaluate'/);
    expect((await handle.result()).decision).toBeDefined();
    await stack.example.writeFile('src/train.py', trainPy, 'train: as before');
  });

  it('a run without logs, an unknown run and a stage that keeps none each say so', async () => {
    const ghost = await stack.startTraining({ releaseTag: 'ghost', commit: 'f'.repeat(40) });
    await expect(ghost.result()).rejects.toThrow();
    const none = await cli('logs', 'train/penguins/ghost');
    expect(none.exitCode).toBe(3);
    expect(none.stderr).toMatch(/train\/penguins\/ghost: no dvc-repro output kept for run [0-9a-f-]{36}: it ended before it was planned/);
    const unknown = await cli('logs', 'train/penguins/nope');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no run with id train/penguins/nope');
    const stage = await cli('logs', 'train/penguins/broken', '--stage', 'evaluate');
    expect(stage.exitCode).toBe(2);
    expect(stage.stderr).toContain('--stage evaluate: no output is kept for it; one of dvc-repro');
  });
});
