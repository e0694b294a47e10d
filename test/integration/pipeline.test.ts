import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleaseManifest } from '@cd4ml/contracts';
import { Stack } from '../harness/stack.ts';
import { REPO_ROOT } from '../harness/paths.ts';

const WORSE = { 'train.model': 'decision_tree', 'train.max_depth': 1, 'train.features': ['body_mass_g'] };

describe('trainModel on the local location (real Temporal, dvc, git)', () => {
  let stack: Stack;
  let goodParams: string;

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    goodParams = await readFile(path.join(stack.example.workDir, 'params.yaml'), 'utf8');
    await stack.startControlWorker();
    await stack.startLocationWorker();
  });
  afterAll(async () => stack?.stop());


  it('accepts and releases the first model', async () => {
    const result = await stack.train({ releaseTag: 'v1.0' });
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.baseline).toBeNull();
    expect(result.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['smoke', 'probabilities-in-range', 'probabilities-sum-to-one', 'class-balance', 'fold-outliers', 'baseline']),
    );
    expect(result.checks.every((c) => c.passed)).toBe(true);

    const manifest = ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir('v1.0'), 'release.json'), 'utf8')));
    const model = await readFile(path.join(stack.releaseDir('v1.0'), 'model.onnx'));
    expect(manifest.model.sha256).toBe(createHash('sha256').update(model).digest('hex'));
    expect(manifest.model.inputs[0]?.name).toBe('input');
    expect(manifest.model.classes).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
    expect(manifest.data['data/raw']).toMatch(/\.dir$/);
    expect(manifest.git.commit).toBe(result.commit);
    expect(await readFile(path.join(stack.releaseDir('v1.0'), 'report.md'), 'utf8')).toContain('## Checks');
    expect(JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8'))).toEqual({ tag: 'v1.0' });
    expect(await stack.example.tags()).toEqual(['v1.0']);
    // The tag carries the dvc.lock of this training, so the release is reproducible from git alone.
    const lock = await execa('git', ['show', 'v1.0:dvc.lock'], { cwd: stack.example.repoUrl });
    expect(lock.stdout).toContain(manifest.data['data/raw']);
    expect(existsSync(path.join(stack.store, 'penguins', '.candidates', 'v1.0'))).toBe(false);
  });

  it('trains from the CLI: stages as they run, the decision, exit code 0; the same tag again is refused', async () => {
    await stack.example.appendDay();
    const cli = (...args: string[]) =>
      execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', ...args], {
        cwd: REPO_ROOT, env: { TEMPORAL_ADDRESS: stack.env.address }, reject: false,
      });
    const train = ['train', '--repo', stack.example.repoUrl, '--project', 'penguins', '--tag', 'v1.0-cli', '--reason', 'cli test'];
    const run = await cli(...train);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^started train\/penguins\/v1\.0-cli$/m);
    for (const stage of ['resolve', 'checkout', 'dvc-pull', 'dvc-repro', 'evaluate', 'publish', 'stop-machine']) {
      expect(run.stdout).toMatch(new RegExp(`^  ${stage} \\d+\\.\\d s$`, 'm'));
    }
    expect(run.stdout).toMatch(/^ACCEPTED: v1\.0-cli/m);
    expect(run.stdout).toMatch(/accuracy +0\.\d+ +0\.\d+ +[+-]/);
    expect(run.stdout).toContain(`folder:  ${stack.store}/penguins/v1.0-cli`);

    const again = await cli(...train);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already ran \(completed\).*choose a new --tag/s);

    const status = await cli('status', 'train/penguins/v1.0-cli');
    expect(status.stdout).toMatch(/train\/penguins\/v1\.0-cli: completed\nACCEPTED/);
    const unknown = await cli('status', 'train/penguins/nope');
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('no run with id train/penguins/nope');
  });

  it('rejects a worse model and publishes nothing', async () => {
    await stack.example.setParams(WORSE, 'params: a much weaker model');
    const result = await stack.train({ releaseTag: 'v1.1' });
    expect(result.decision).toBe('rejected');
    expect(result.baseline?.tag).toBe('v1.0-cli');
    expect(result.reasons.join('\n')).toMatch(/^baseline: /m);
    expect(existsSync(stack.releaseDir('v1.1'))).toBe(false);
    expect(existsSync(path.join(stack.store, 'penguins', '.candidates', 'v1.1'))).toBe(false);
    expect(JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8'))).toEqual({ tag: 'v1.0-cli' });
    expect(await stack.example.tags()).toEqual(['v1.0', 'v1.0-cli']);
  });

  it('rejects a model with broken probabilities by its sanity check', async () => {
    await stack.example.writeFile('params.yaml', goodParams, 'params: back to the good model');
    await stack.example.setParams({ 'export.probability_scale': 1.7 }, 'export: broken probabilities');
    const result = await stack.train({ releaseTag: 'v1.2' });
    expect(result.decision).toBe('rejected');
    const failed = result.checks.filter((c) => !c.passed).map((c) => c.name);
    expect(failed).toContain('probabilities-sum-to-one');
    expect(failed).not.toContain('baseline');
    expect(existsSync(stack.releaseDir('v1.2'))).toBe(false);
  });

  it('gates a retraining on new data against the last release', async () => {
    await stack.example.writeFile('params.yaml', goodParams, 'params: good model');
    await stack.example.appendDay();
    const result = await stack.train({ releaseTag: 'v1.3' });
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.baseline?.tag).toBe('v1.0-cli');
    expect(JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8'))).toEqual({ tag: 'v1.3' });
    const manifest = ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.releaseDir('v1.3'), 'release.json'), 'utf8')));
    expect(manifest.baseline?.tag).toBe('v1.0-cli');
    expect(Object.keys(result.durations)).toEqual(expect.arrayContaining(['checkout', 'dvc-pull', 'dvc-repro', 'evaluate', 'publish']));
  });
});
