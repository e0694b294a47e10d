import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { checkpointKey, type SpotInterruptionDetails } from '@cd4ml/contracts';
import { createLocationActivities } from '@cd4ml/activities/location';
import { SpotWatcher } from '@cd4ml/activities/compute/ec2/interruption';
import { openStore } from '@cd4ml/stores';
import { FakeImds } from '../fakes/imds.ts';
import { VENV } from '../harness/paths.ts';
import { waitFor } from '../harness/wait-for.ts';

// The location side of a spot interruption, with real git, dvc and processes and the IMDSv2
// fake: the notice stops dvc repro in its second stage, the run-cache and the checkpoint
// folder are saved, and a second checkout (the replacement) restores both, so repro skips
// the finished stage and the stage resumes after its last checkpoint.
const DVC_YAML = `stages:
  first:
    cmd: sh -c 'echo run >> ../first-runs.log; cp first.in first.txt'
    deps: [first.in]
    outs: [first.txt]
  second:
    cmd: sh second.sh
    deps: [first.txt, second.sh]
    outs: [second.txt]
`;
// Ten steps; each writes the checkpoint; it starts after the checkpoint's step (the contract of README: Resuming).
const SECOND_SH = `mkdir -p ckpt
n=$(cat ckpt/step 2>/dev/null || echo 0)
echo "start at $n" >> ../second-starts.log
while [ "$n" -lt 10 ]; do
  sleep "$(cat ../step-seconds)"; n=$((n+1)); echo "$n" > ckpt/step.tmp; mv ckpt/step.tmp ckpt/step
done
echo "second after $n steps" > second.txt
rm -rf ckpt
`;

const logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

describe('spot interruption on the location: graceful stop, run-cache and checkpoint saved and restored (real dvc, git)', () => {
  let root: string;
  let repoUrl: string;
  let commit: string;
  let imds: FakeImds;
  const ref = { project: 'spotproj', projectDir: '.' };

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-spot-'));
    const work = path.join(root, 'src');
    repoUrl = path.join(root, 'repo.git');
    await mkdir(work);
    const sh = (cmd: string, ...args: string[]) => execa(cmd, args, { cwd: work, env: { ...gitEnv, PATH: `${VENV}/bin:${process.env.PATH}`, DVC_NO_ANALYTICS: '1' } });
    await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', repoUrl]);
    await sh('git', 'init', '--quiet', '--initial-branch=main');
    await sh('dvc', 'init', '--quiet');
    await sh('dvc', 'remote', 'add', '--default', 'storage', path.join(root, 'dvc-remote'));
    await writeFile(path.join(work, 'dvc.yaml'), DVC_YAML);
    await writeFile(path.join(work, 'second.sh'), SECOND_SH);
    // A stage without dependencies always runs (DVC keeps no run-cache for it).
    await writeFile(path.join(work, 'first.in'), 'first\n');
    await writeFile(path.join(work, '.gitignore'), 'ckpt/\n');
    await sh('git', 'add', '-A');
    await sh('git', 'commit', '--quiet', '-m', 'two stages');
    await sh('git', 'push', '--quiet', repoUrl, 'main');
    commit = (await sh('git', 'rev-parse', 'HEAD')).stdout.trim();
    imds = await FakeImds.start();
  });
  afterAll(async () => {
    await imds?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const machine = (name: string, spot?: SpotWatcher) => createLocationActivities({
    workdir: path.join(root, name), venv: VENV, checkoutQueue: `q-${name}`, worker: name, ...(spot ? { spot } : {}),
  });
  const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> =>
    new MockActivityEnvironment(undefined, { logger }).run(fn, ...args);
  const checkpoint = () => ({ path: 'ckpt', store: path.join(root, 'store'), key: checkpointKey('spotproj', 'v1') });
  const ckptStep = (name: string) => readFile(path.join(root, name, 'spotproj', 'ckpt', 'step'), 'utf8').then((s) => Number(s.trim())).catch(() => 0);

  it('a notice mid-stage stops dvc repro, pushes the run-cache of the finished stage and the checkpoint, and fails SpotInterrupted', async () => {
    const watcher = new SpotWatcher(imds.endpoint, { everyMs: 200 }).start();
    try {
      const a = machine('a', watcher);
      await mkdir(path.join(root, 'a'), { recursive: true });
      await writeFile(path.join(root, 'a', 'step-seconds'), '0.5');
      await run(a.checkout, { ...ref, repoUrl, commit });
      await run(a.dvcPull, ref);
      const repro = run(a.dvcRepro, { ...ref, timeoutMs: 300_000, checkpoint: checkpoint() }).then(() => undefined, (e: unknown) => e);
      // Interrupted once the second stage has checkpointed a few steps.
      await waitFor('the second stage to checkpoint 3 steps', '/dev/null', async () => (await ckptStep('a')) >= 3, 120_000);
      imds.interrupt();
      const err = await repro;
      expect(err).toBeInstanceOf(ApplicationFailure);
      const failure = err as ApplicationFailure;
      expect(failure.type).toBe('SpotInterrupted');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/stopped in stage 'second'; run-cache pushed \(finished: first\); checkpoint ckpt saved/);
      const details = failure.details?.[0] as SpotInterruptionDetails;
      expect(details.finishedStages).toEqual(['first']);
      expect(details.checkpointKey).toBe(checkpoint().key);
      expect(await openStore(checkpoint().store).stat(checkpoint().key)).toBeTruthy();
      // The run-cache entries reached the DVC remote (runs/ beside the content-addressed files).
      expect(existsSync(path.join(root, 'dvc-remote', 'runs'))).toBe(true);
      expect(existsSync(path.join(root, 'a', 'spotproj', 'second.txt'))).toBe(false);
      // Any other step after the notice is refused.
      await expect(run(a.dvcPull, ref)).rejects.toMatchObject({ type: 'SpotInterrupted' });
    } finally {
      await watcher.stop();
    }
  }, 300_000);

  it('the replacement pulls the run-cache and the checkpoint: the first stage is not rerun, the second resumes after its checkpoint', async () => {
    const saved = await ckptSaved();
    const b = machine('b');
    await mkdir(path.join(root, 'b'), { recursive: true });
    await writeFile(path.join(root, 'b', 'step-seconds'), '0');
    await run(b.checkout, { ...ref, repoUrl, commit });
    const pulled = await run(b.dvcPull, { ...ref, resume: { checkpoint: checkpoint() } });
    expect(pulled.checkpointRestored).toBe(true);
    expect(await ckptStep('b')).toBe(saved);
    const done = await run(b.dvcRepro, { ...ref, timeoutMs: 300_000, checkpoint: checkpoint(), resume: true });
    expect(done.skipped).toEqual(['first']);
    expect(done.ran).toEqual(['second']);
    // "first" ran once, on the first machine; "second" started at 0 there and at the checkpoint here.
    expect((await readFile(path.join(root, 'a', 'first-runs.log'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(root, 'b', 'first-runs.log'))).toBe(false);
    expect((await readFile(path.join(root, 'b', 'second-starts.log'), 'utf8')).trim()).toBe(`start at ${saved}`);
    expect(await readFile(path.join(root, 'b', 'spotproj', 'second.txt'), 'utf8')).toBe('second after 10 steps\n');
  }, 300_000);

  /** The step in the saved checkpoint archive (at least the 3 seen before the notice). */
  async function ckptSaved(): Promise<number> {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-ckpt-'));
    try {
      const file = await openStore(checkpoint().store).localFile(checkpoint().key);
      await execa('tar', ['-xf', file, '-C', tmp]);
      const step = Number((await readFile(path.join(tmp, 'step'), 'utf8')).trim());
      expect(step).toBeGreaterThanOrEqual(3);
      expect(step).toBeLessThan(10);
      return step;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
});
