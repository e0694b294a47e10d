import { existsSync } from 'node:fs';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '@cd4ml/contracts';
import { Stack } from '../harness/stack.ts';
import { activityRuns, runsOf, waitUntil } from '../harness/training-probes.ts';
import { describePendingStep } from '@cd4ml/client/watch-training';

/** The training's failure as the client sees it: WorkflowFailedError -> ApplicationFailure. */
async function trainingFailure(handle: WorkflowHandle): Promise<ApplicationFailure> {
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
  expect(err.cause, `cause chain: ${describeChain(err)}`).toBeInstanceOf(ApplicationFailure);
  return err.cause as ApplicationFailure;
}

const describeChain = (err: unknown): string => {
  const parts: string[] = [];
  for (let e = err as { name?: string; type?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    parts.push(`${e.constructor?.name ?? e.name}${e.type ? `(${e.type})` : ''}: ${String(e.message).split('\n')[0]}`);
  }
  return parts.join(' -> ');
};

describe('trainModel failures (real Temporal, dvc, git)', () => {
  let stack: Stack;
  let goodConfig: string;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    goodConfig = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    await stack.startControlWorker();
    await stack.startLocationWorker();
  });
  afterAll(async () => stack?.stop());

  /** Undoes the last commit with a new commit, and pushes: the example repo is good again. */
  const revertLast = async () => {
    await stack.example.run('git', 'revert', '--no-edit', 'HEAD');
    await stack.example.run('git', 'push', '--quiet', 'origin', 'HEAD:main');
  };

  it('rejects an invalid cd4ml.yaml before anything starts', async () => {
    await stack.example.writeFile('cd4ml.yaml', `${goodConfig}\n`.replace(/margin: [\d.]+/, 'margin: -1'), 'cd4ml: negative margin');
    try {
      const handle = await stack.startTraining({ releaseTag: 'bad-config' });
      const failure = await trainingFailure(handle);
      expect(failure.type).toBe(FailureType.ConfigInvalid);
      expect(failure.message).toMatch(/^ {2}- gate\.margin: /m);
      expect(failure.message).toMatch(/>=\s*0/);

      expect(existsSync(stack.releaseDir('bad-config'))).toBe(false);
      const runs = await activityRuns(handle);
      expect(runs.map((r) => r.name)).toEqual(['resolveTraining']);
      expect(runs[0]).toMatchObject({ attempt: 1, outcome: 'failed' });
    } finally {
      await revertLast();
    }
  });

  it('rejects an unknown location and lists the declared ones', async () => {
    const handle = await stack.startTraining({ releaseTag: 'bad-location', location: 'nowhere' });
    const failure = await trainingFailure(handle);
    expect(failure.type).toBe(FailureType.UnknownLocation);
    expect(failure.message).toContain('"nowhere"');
    expect(failure.message).toContain('declares "local"');
    const runs = await activityRuns(handle);
    expect(runs.map((r) => r.name)).toEqual(['resolveTraining']);
  });

  it('rejects a commit without dvc.yaml', async () => {
    await stack.example.run('git', 'rm', '-q', 'dvc.yaml');
    await stack.example.commitAndPush('pipeline: removed by mistake');
    try {
      const handle = await stack.startTraining({ releaseTag: 'no-pipeline' });
      const failure = await trainingFailure(handle);
      expect(failure.type).toBe(FailureType.MissingPipeline);
      expect(failure.message).toContain('dvc.yaml not found');
      const runs = await activityRuns(handle);
      expect(runs.map((r) => r.name)).toEqual(['resolveTraining']);
    } finally {
      await revertLast();
    }
  });

  it('fails fast on an unknown commit: one attempt, no retries', async () => {
    const handle = await stack.startTraining({ releaseTag: 'bad-commit', commit: 'deadbeef' });
    const failure = await trainingFailure(handle);
    expect(failure.type).toBe(FailureType.UnknownCommit);
    expect(failure.message).toContain('deadbeef');
    const runs = await activityRuns(handle);
    expect(runs).toEqual([{ name: 'resolveTraining', attempt: 1, outcome: 'failed' }]);
  });

  it('reports a failing stage with its name and output, does not retry it, and still stops the machine', async () => {
    const trainPy = path.join(stack.example.workDir, 'src', 'train.py');
    const original = await readFile(trainPy, 'utf8');
    await stack.example.writeFile('src/train.py', `import sys; sys.exit("boom: bad feature column")\n${original}`, 'train: broken');
    try {
      const handle = await stack.startTraining({ releaseTag: 'broken-stage' });
      const failure = await trainingFailure(handle);
      expect(failure.type).toBe(FailureType.StageFailed);
      expect(failure.message).toContain("stage 'train'");
      expect(failure.message).toContain('boom: bad feature column');

      const runs = await activityRuns(handle);
      const repro = runs.filter((r) => r.name === 'dvcRepro');
      expect(repro).toEqual([{ name: 'dvcRepro', attempt: 1, outcome: 'failed' }]);
      expect(runs.filter((r) => r.name === 'stopMachine')).toEqual([expect.objectContaining({ outcome: 'completed' })]);
      // Nothing after the failed stage ran.
      expect(runs.map((r) => r.name)).not.toContain('stageCandidate');
      expect(runs.map((r) => r.name)).not.toContain('tagRelease');
      expect(runs.map((r) => r.name)).not.toContain('publishRelease');

      expect(existsSync(stack.releaseDir('broken-stage'))).toBe(false);
      expect(existsSync(path.join(stack.store, 'penguins', 'latest.json'))).toBe(false);
      expect(await stack.example.tags()).toEqual([]);
    } finally {
      await revertLast();
    }
  });

  it('retries a pull from an unavailable DVC remote with backoff, then completes', async () => {
    // A second location with its own, empty checkout: everything must come from the remote.
    await stack.example.writeFile(
      'cd4ml.yaml',
      goodConfig.replace(/locations:\n(?: {2}.*\n)+/, 'locations:\n  local:\n    provider: local\n  fresh:\n    provider: local\n'),
      'cd4ml: add the fresh location',
    );
    expect(await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).toMatch(/ {2}fresh:\n {4}provider: local/);
    await stack.startLocationWorker('fresh');

    const remote = stack.example.dvcRemote;
    const away = `${remote}.away`;
    await rename(remote, away);
    let restored = false;
    try {
      const handle = await stack.startTraining({ releaseTag: 'v-retry', location: 'fresh' });

      // Wait until dvcPull has failed at least once and is being retried.
      const deadline = Date.now() + 90_000;
      let pending: { attempt?: number | null; lastFailure?: { message?: string | null } | null } | undefined;
      while (Date.now() < deadline) {
        const { raw } = await handle.describe();
        pending = raw.pendingActivities?.find((a) => a.activityType?.name === 'dvcPull');
        if ((pending?.attempt ?? 0) > 1) break;
        await sleep(200);
      }
      expect(pending?.attempt, 'dvcPull was never retried').toBeGreaterThan(1);
      expect(pending?.lastFailure?.message).toMatch(/dvc pull failed; will retry/);

      await rename(away, remote);
      restored = true;

      const result = await handle.result();
      expect(result.decision, result.reasons.join('\n')).toBe('accepted');
      const pulls = runsOf(await activityRuns(handle), 'dvcPull');
      expect(pulls).toHaveLength(1);
      expect(pulls[0]!.outcome).toBe('completed');
      expect(pulls[0]!.attempt).toBeGreaterThanOrEqual(2);
      expect(existsSync(path.join(stack.releaseDir('v-retry'), 'release.json'))).toBe(true);
      expect(await stack.example.tags()).toEqual(['v-retry']);
    } finally {
      if (!restored) await rename(away, remote);
    }
  });

  it('a location whose worker is not running: the run waits, says why, and a cancel still cleans up', async () => {
    await stack.example.writeFile(
      'cd4ml.yaml',
      goodConfig.replace(/locations:\n(?: {2}.*\n)+/, 'locations:\n  local:\n    provider: local\n  ghost:\n    provider: local\n'),
      'cd4ml: add a location nobody runs a worker for',
    );
    const handle = await stack.startTraining({ releaseTag: 'v-ghost', location: 'ghost' });
    const hint = await waitUntil('the no-worker hint', async () => {
      const text = await describePendingStep(handle);
      return /no worker has taken checkout for \d+ s: is the worker for this location running\?/.test(text) && text;
    }, 60_000);
    expect(hint).toContain('checkout');
    await handle.cancel();
    await expect(handle.result()).rejects.toThrow();
    const runs = await activityRuns(handle);
    expect(runs.find((r) => r.name === 'stopMachine')?.outcome).toBe('completed');
    expect(runs.find((r) => r.name === 'checkout')?.outcome).not.toBe('completed');
  });
});
