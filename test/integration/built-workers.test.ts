import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Stack } from '../harness/stack.ts';
import { REPO_ROOT } from '../harness/paths.ts';

/** The built JavaScript (scripts/build.ts) as production runs it: plain node, no tsx, workflows bundled at build time. */
describe('built workers and CLI (plain node; real Temporal, dvc, git)', () => {
  let stack: Stack;
  const cli = (...args: string[]) =>
    execa(process.execPath, ['client/dist/cli.js', ...args], { cwd: REPO_ROOT, reject: false, all: true, env: { TEMPORAL_ADDRESS: stack.env.address } });

  beforeAll(async () => {
    await execa(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: REPO_ROOT });
    stack = await Stack.start();
    await stack.example.create();
    await stack.spawnWorker('control', 'local', {}, { built: true });
    await stack.spawnWorker('location', 'local', {}, { built: true });
  }, 240_000);
  afterAll(async () => stack?.stop());

  it('trains and releases, and a failing stage keeps its failure type across the SDK boundary', async () => {
    expect((await stack.train({ releaseTag: 'v1.0' })).decision).toBe('accepted');
    expect(stack.released('v1.0')).toBe(true);
    await stack.example.setParams({ 'train.model': 'no_such_model' }, 'params: a model train.py does not know');
    const err = await stack.train({ releaseTag: 'broken' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('StageFailed');
  });

  it('the CLI answers with plain node', async () => {
    const help = await cli('--help');
    expect(help.exitCode).toBe(0);
    expect(help.all).toContain('Usage: cd4ml');
    const status = await cli('status', 'train/penguins/v1.0');
    expect(status.exitCode).toBe(0);
    expect(status.all).toMatch(/completed/i);
  });
});
