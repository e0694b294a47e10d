import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProjectConfig } from '@cd4ml/contracts';
import { ExampleRepo, type ExampleName } from '@cd4ml/client/demo/example-repo';
import { REPO_ROOT, VENV } from '../harness/paths.ts';
import { Stack } from '../harness/stack.ts';

// "I have a DVC repo": each example with its cd4ml.yaml removed, as a team's own
// repository would be. `cd4ml init` writes the file from dvc.yaml and the metrics,
// `cd4ml check` runs the real dvc repro and the gate's checks; penguins then trains
// and releases through the real pipeline with the generated file.

const cli = (...args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', ...args], {
    cwd: REPO_ROOT, reject: false, stdin: 'ignore',
    env: { PATH: `${path.join(VENV, 'bin')}${path.delimiter}${process.env.PATH}`, DVC_NO_ANALYTICS: '1' },
  });

const config = async (dir: string) => parseProjectConfig(await readFile(path.join(dir, 'cd4ml.yaml'), 'utf8'));

async function withoutConfig(example: ExampleRepo): Promise<void> {
  await example.run('git', 'rm', '--quiet', 'cd4ml.yaml');
  await example.commitAndPush('no cd4ml.yaml yet: a DVC project cd4ml has never seen');
}

describe('cd4ml init + check on the examples (real dvc, onnxruntime)', () => {
  const dirs: string[] = [];
  const example = async (name: ExampleName): Promise<ExampleRepo> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `cd4ml-init-${name}-`));
    dirs.push(dir);
    const repo = new ExampleRepo(dir, VENV, { example: name });
    await repo.create();
    await withoutConfig(repo);
    return repo;
  };
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('diabetes, already reproduced once: infers a regression gate on rmse from metrics.json and holdout.json; check passes', async () => {
    const repo = await example('diabetes');
    await repo.run('dvc', 'repro', '--quiet');
    const init = await cli('init', '--dir', repo.workDir);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).not.toContain('GUESSED');
    const c = await config(repo.workDir);
    expect(c.project).toBe('work');
    expect(c.outputs).toEqual({ model: 'model/model.onnx', metrics: 'metrics.json', smoke: 'model/smoke.json', holdout: 'model/holdout.json' });
    expect(c.gate).toMatchObject({ task: 'regression', metric: 'rmse', policy: 'not-worse' });
    const rmse = Number(JSON.parse(await readFile(path.join(repo.workDir, 'metrics.json'), 'utf8')).rmse);
    expect(c.gate.margin).toBeCloseTo(rmse * 0.05, 0);
    // diabetes' ~45-row folds vary honestly by more than the default 0.1 allows.
    expect(c.gate.foldOutlierMaxDeviation).toBeGreaterThan(0.1);
    expect(await readFile(path.join(repo.workDir, 'cd4ml.yaml'), 'utf8')).toContain('# params.yaml sections recorded with every release: prepare, train, export');

    const check = await cli('check', '--dir', repo.workDir);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/ok {3}gate check finite-predictions/);
    expect(check.stdout).toContain('ready:');

    // A wrong output path is named, with the file the pipeline does write.
    const file = path.join(repo.workDir, 'cd4ml.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('model: model/model.onnx', 'model: model/modle.onnx'));
    const wrong = await cli('check', '--dir', repo.workDir);
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stdout).toContain('FAIL outputs.model: model/modle.onnx (cd4ml.yaml) is not written by any stage of dvc.yaml; the pipeline writes model/model.onnx');
    expect(wrong.stdout).not.toContain('running');
  });

  it('breast-cancer, never reproduced: init guesses what it cannot read and says so; check runs dvc repro; a missing field is named with a snippet', async () => {
    const repo = await example('breast-cancer');
    const init = await cli('init', '--dir', repo.workDir, '--project', 'breast-cancer', '--metric', 'roc_auc', '--margin', '0.01');
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/ok +task: classification +\(--metric roc_auc\)/);
    expect((await config(repo.workDir)).gate).toMatchObject({ task: 'classification', metric: 'roc_auc', margin: 0.01 });

    const check = await cli('check', '--dir', repo.workDir);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("Running stage 'train'");
    expect(check.stdout).toMatch(/ok {3}gate check probabilities-sum-to-one/);

    const holdoutFile = path.join(repo.workDir, 'model/holdout.json');
    const holdout = JSON.parse(await readFile(holdoutFile, 'utf8'));
    delete holdout.labels;
    await writeFile(holdoutFile, JSON.stringify(holdout));
    const missing = await cli('check', '--dir', repo.workDir, '--no-repro');
    expect(missing.exitCode).toBe(3);
    expect(missing.stdout).toContain('FAIL gate check holdout: holdout.json labels: missing');
    expect(missing.stdout).toContain('"labels": [int(v) for v in y_holdout]');

    const again = await cli('init', '--dir', repo.workDir);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('cd4ml.yaml exists already: edit it, or pass --force');
  });

  it('init in a folder without dvc.yaml: exit 2, says what to do, writes nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-init-empty-'));
    dirs.push(dir);
    const init = await cli('init', '--dir', dir);
    expect(init.exitCode).toBe(2);
    expect(init.stderr).toContain(`cd4ml init: ${dir} has no dvc.yaml: cd4ml trains DVC pipelines`);
    const check = await cli('check', '--dir', dir);
    expect(check.exitCode).toBe(2);
    await expect(readFile(path.join(dir, 'cd4ml.yaml'))).rejects.toThrow(/ENOENT/);
  });
});

describe('penguins: init, check, commit, then the first release through the real pipeline', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    await withoutConfig(stack.example);
    await stack.startControlWorker();
    await stack.startLocationWorker();
  });
  afterAll(async () => stack?.stop());

  it('the generated cd4ml.yaml trains, gates and releases v1.0', async () => {
    const { workDir } = stack.example;
    const init = await cli('init', '--dir', workDir, '--project', 'penguins');
    expect(init.exitCode, init.stderr).toBe(0);
    // Nothing reproduced yet: the task comes from no file, and init says it guessed.
    expect(init.stdout).toContain('GUESSED task: classification');
    const check = await cli('check', '--dir', workDir);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    await stack.example.commitAndPush('cd4ml.yaml from cd4ml init');

    const result = await stack.train({ releaseTag: 'v1.0' });
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(stack.released('v1.0')).toBe(true);
    expect(await stack.example.tags()).toEqual(['v1.0']);
  });
});
