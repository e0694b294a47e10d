import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleaseManifest, type TrainingResult } from '@cd4ml/contracts';
import { ExampleRepo, type ExampleName } from '@cd4ml/client/demo/example-repo';
import { Stack } from '../harness/stack.ts';
import { VENV } from '../harness/paths.ts';

const failedChecks = (r: TrainingResult) => r.checks.filter((c) => !c.passed).map((c) => c.name);
const detailOf = (r: TrainingResult, name: string) => r.checks.find((c) => c.name === name)?.detail ?? '';

/**
 * The gate measures the candidate and the live release itself, on the same rows,
 * for each task kind: real Temporal, dvc, git and onnxruntime, one example each.
 */
describe('the gate (real Temporal, dvc, git, onnxruntime)', () => {
  let stack: Stack;
  const examples: Partial<Record<ExampleName, ExampleRepo>> = {};

  const example = async (name: ExampleName) => {
    if (name === 'penguins') return stack.example;
    if (!examples[name]) {
      examples[name] = new ExampleRepo(path.join(stack.dir, name), VENV, { example: name });
      await examples[name]!.create();
    }
    return examples[name]!;
  };
  const train = async (name: ExampleName, releaseTag: string) =>
    stack.train({ project: name, repoUrl: (await example(name)).repoUrl, releaseTag });
  const manifest = async (project: string, tag: string) =>
    ReleaseManifest.parse(JSON.parse(await readFile(path.join(stack.store, project, tag, 'release.json'), 'utf8')));

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    await stack.startControlWorker();
    await stack.startLocationWorker();
  });
  afterAll(async () => stack?.stop());

  it('penguins: the first release records what cd4ml measured, next to what evaluate reported', async () => {
    const r = await train('penguins', 'v1.0');
    expect(r.decision).toBe('accepted');
    expect(r.metrics.accuracy).toBe(r.reportedMetrics?.accuracy);
    const m = await manifest('penguins', 'v1.0');
    expect(m.gate).toMatchObject({ task: 'classification', metric: 'accuracy', scoredOn: 'none', policy: 'not-worse' });
    expect(m.plots).toEqual([{ file: 'plots/confusion-matrix.svg', title: expect.stringMatching(/^Confusion matrix on \d+ holdout rows$/) }]);
    expect(existsSync(path.join(stack.releaseDir('v1.0'), 'plots/confusion-matrix.svg'))).toBe(true);
    expect(await readFile(path.join(stack.releaseDir('v1.0'), 'report.md'), 'utf8')).toContain('![Confusion matrix on');
  });

  it('penguins: a lying evaluate stage (accuracy overwritten with 0.9999, model unchanged) is rejected by reported-metric', async () => {
    const file = path.join(stack.example.workDir, 'src/evaluate.py');
    const honest = await readFile(file, 'utf8');
    await stack.example.writeFile('src/evaluate.py', honest.replace('"accuracy": accuracy,', '"accuracy": 0.9999,'), 'evaluate: optimistic');
    const r = await train('penguins', 'lying');
    expect(r.decision).toBe('rejected');
    expect(failedChecks(r)).toEqual(['reported-metric']);
    expect(detailOf(r, 'reported-metric')).toMatch(/metrics.json says accuracy 0.9999, cd4ml measured 0.9\d+ on the same \d+ holdout rows/);
    await stack.example.writeFile('src/evaluate.py', honest, 'evaluate: honest again');
  });

  it('penguins: a model worse on the shared holdout is rejected by baseline, even when it reports a higher score', async () => {
    const params = await readFile(path.join(stack.example.workDir, 'params.yaml'), 'utf8');
    const file = path.join(stack.example.workDir, 'src/evaluate.py');
    const honest = await readFile(file, 'utf8');
    // The same features, so the release's model runs on this holdout too.
    await stack.example.setParams({ 'train.model': 'decision_tree', 'train.max_depth': 1 });
    await stack.example.writeFile('src/evaluate.py', honest.replace('"accuracy": accuracy,', '"accuracy": 0.9999,'), 'evaluate: scores its own split');
    const r = await train('penguins', 'worse');
    expect(r.decision).toBe('rejected');
    expect(failedChecks(r)).toContain('baseline');
    expect(detailOf(r, 'baseline')).toMatch(/^accuracy 0\.\d+ vs baseline v1.0 0\.9\d+: -0\.\d+ \(95% CI -0\.\d+ to -0\.\d+, \d+ rows, 1000 resamples\); not-worse with margin 0.02: failed/);
    expect(r.comparison).toMatchObject({ scoredOn: 'models', baselineTag: 'v1.0' });
    expect(r.comparison!.hi!).toBeLessThan(0);
    expect(stack.released('worse')).toBe(false);
    await stack.example.writeFile('params.yaml', params, 'params: back');
    await stack.example.writeFile('src/evaluate.py', honest, 'evaluate: honest again');
  });

  it('penguins: an equal model is rejected with policy better and accepted with not-worse', async () => {
    const config = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    await stack.example.writeFile('cd4ml.yaml', config.replace('  margin: 0.02\n', '  margin: 0.02\n  policy: better\n'), 'gate: better');
    const better = await train('penguins', 'equal-better');
    expect(better.decision).toBe('rejected');
    expect(better.comparison).toMatchObject({ difference: 0, lo: 0, hi: 0 });
    expect(detailOf(better, 'baseline')).toMatch(/; better: failed, the interval includes no improvement/);
    await stack.example.writeFile('cd4ml.yaml', config, 'gate: not-worse');
    const notWorse = await train('penguins', 'equal-not-worse');
    expect(notWorse.decision).toBe('accepted');
    expect(notWorse.comparison).toMatchObject({ difference: 0, policy: 'not-worse' });
  });

  it('penguins: custom checks that fail, crash or print garbage are failed checks with what they said', async () => {
    const config = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    await stack.example.writeFile('checks/fairness.py', 'import json\nprint(json.dumps({"passed": False, "detail": "gap 0.31 between islands", "figures": {"gap": 0.31}}))\n', 'checks: fairness');
    await stack.example.writeFile('cd4ml.yaml', config.replace('  margin: 0.02\n', [
      '  margin: 0.02',
      '  checks:',
      '    - {name: fairness, run: "python checks/fairness.py"}',
      '    - {name: crashes, run: "python -c \'import sys; sys.exit(\\"no such column: island\\")\'"}',
      '    - {name: garbage, run: "echo everything is fine"}',
      '    - {name: fine, run: "echo \'{\\"passed\\": true, \\"detail\\": \\"ok\\"}\'"}',
      '',
    ].join('\n')), 'gate: custom checks');
    const r = await train('penguins', 'custom-checks');
    expect(r.decision).toBe('rejected');
    expect(failedChecks(r)).toEqual(['custom:fairness', 'custom:crashes', 'custom:garbage']);
    expect(detailOf(r, 'custom:fairness')).toBe('gap 0.31 between islands (gap 0.31)');
    expect(detailOf(r, 'custom:crashes')).toMatch(/exited with 1; last output:\nno such column: island/);
    expect(detailOf(r, 'custom:garbage')).toMatch(/printed no JSON answer.*\neverything is fine/s);
    expect(detailOf(r, 'custom:fine')).toBe('ok');
    expect(r.durations['custom-checks']).toBeGreaterThan(0);
    await stack.example.writeFile('cd4ml.yaml', config, 'gate: no custom checks');
  });

  it('diabetes (regression): accepted first, a worse setting rejected, NaN predictions rejected by their sanity check', async () => {
    const repo = await example('diabetes');
    const first = await train('diabetes', 'v1.0');
    expect(first.decision).toBe('accepted');
    expect(first.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['finite-predictions', 'prediction-range', 'residual-bias']));
    expect(Object.keys(first.metrics).sort()).toEqual(['mae', 'r2', 'rmse']);
    const m = await manifest('diabetes', 'v1.0');
    expect(m.plots?.map((p) => p.file)).toEqual(['plots/predicted-vs-true.svg', 'plots/residuals.svg']);

    await repo.setParams({ 'train.alpha': 10000 }, 'params: heavy regularisation');
    const worse = await train('diabetes', 'worse');
    expect(worse.decision).toBe('rejected');
    expect(failedChecks(worse)).toEqual(['baseline']);
    expect(detailOf(worse, 'baseline')).toMatch(/^rmse \d+\.?\d* vs baseline v1.0 \d+\.?\d*: \+\d+\.?\d* \(95% CI \+\d/);

    await repo.setParams({ 'train.alpha': 1.0, 'export.prediction_scale': Number.NaN }, 'export: NaN predictions');
    const nan = await train('diabetes', 'nan');
    expect(nan.decision).toBe('rejected');
    expect(failedChecks(nan)).toContain('finite-predictions');
    expect(detailOf(nan, 'finite-predictions')).toMatch(/predictions are not finite \(\d+ NaN\); first at row 0: NaN/);
  });

  it('trainings are found by their search attributes: project, decision, the measured metric', async () => {
    const ids = async (query: string) => {
      const out: string[] = [];
      for await (const w of stack.client.workflow.list({ query })) out.push(w.workflowId);
      return out.sort();
    };
    // Visibility is eventually consistent: wait until the last training is listed.
    for (let i = 0; i < 50 && !(await ids('Cd4mlReleaseTag="nan"')).length; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await ids('Cd4mlProject="penguins" AND Cd4mlDecision="rejected"')).toEqual(
      ['train/penguins/custom-checks', 'train/penguins/equal-better', 'train/penguins/lying', 'train/penguins/worse']);
    expect(await ids('Cd4mlProject="diabetes" AND Cd4mlDecision="accepted" AND Cd4mlLocation="local"')).toEqual(['train/diabetes/v1.0']);
    expect(await ids('Cd4mlProject="penguins" AND Cd4mlMetric < 0.9')).toEqual(['train/penguins/worse']);
    expect(await ids('Cd4mlRequestedBy="test" AND Cd4mlReleaseTag="v1.0"')).toEqual(['train/diabetes/v1.0', 'train/penguins/v1.0']);
  });

  it('breast-cancer (binary): accepted, with ROC AUC measured and in the report', async () => {
    const r = await train('breast-cancer', 'v1.0');
    expect(r.decision).toBe('accepted');
    expect(r.metrics.roc_auc).toBeGreaterThan(0.95);
    expect(r.comparison).toMatchObject({ metric: 'roc_auc', task: 'classification' });
    const report = await readFile(path.join(stack.store, 'breast-cancer', 'v1.0', 'report.md'), 'utf8');
    expect(report).toMatch(/\| roc_auc \| 0\.9\d+ \|/);
  });
});
