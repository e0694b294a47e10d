import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { locationWorkflowId, type TrainingResult } from '@cd4ml/contracts';
import { Stack } from '../harness/stack.ts';
import { activityRuns, runsOf } from '../harness/training-probes.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { FakeGitLab } from '../fakes/gitlab.ts';
import { historyText, placesWithSecrets } from '../harness/secrets-scan.ts';

// The test secrets: set only in the control worker's environment, then looked for everywhere.
const TOKEN = `glpat-${randomBytes(16).toString('hex')}`;
const WRONG = `glpat-${randomBytes(16).toString('hex')}`;
const ARTIFACTS = 'https://artifacts.example.com/releases';

describe('trainModel with a GitLab release page (fake GitLab; real Temporal, dvc, git)', () => {
  let stack: Stack;
  let fake: FakeGitLab;
  let control: WorkerProcess;
  let exampleConfig: string;
  const trainings: WorkflowHandle[] = [];

  const useGitLab = (tokenEnv: string) =>
    stack.example.writeFile(
      'cd4ml.yaml',
      `${exampleConfig}${stringify({ gitlab: { url: fake.url, project: 'ml/penguins', tokenEnv, artifactsUrl: ARTIFACTS } })}`,
      `cd4ml.yaml: release pages, token in ${tokenEnv}`,
    );

  const train = async (releaseTag: string) => {
    const handle = await stack.startTraining({ releaseTag });
    trainings.push(handle);
    return handle;
  };

  beforeAll(async () => {
    stack = await Stack.start();
    fake = await FakeGitLab.start({ token: TOKEN, projects: [{ id: 42, path: 'ml/penguins' }] });
    await stack.example.create();
    exampleConfig = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    // Its own process, so the test reads all it logs, at the most talkative levels.
    control = await stack.spawnWorker('control', 'local', {
      CD4ML_TEST_GITLAB_TOKEN: TOKEN, CD4ML_TEST_GITLAB_WRONG: WRONG, LOG_LEVEL: 'debug', TEMPORAL_LOG_LEVEL: 'DEBUG',
    });
    await stack.startLocationWorker();
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.stop();
  });

  it('refuses to start when the token variable is not set on the control worker', async () => {
    await useGitLab('CD4ML_TEST_GITLAB_UNSET');
    const handle = await train('v0.9');
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('ConfigInvalid');
    expect(cause.message).toMatch(/^CD4ML_TEST_GITLAB_UNSET is not set on the control worker: set it to a GitLab token/);
    expect((await activityRuns(handle)).map((r) => r.name)).toEqual(['resolveTraining']);
    expect(fake.requests).toEqual([]);
  });

  it('publishes the release page: the report as its notes, links to the stored files and plots', async () => {
    await useGitLab('CD4ML_TEST_GITLAB_TOKEN');
    const handle = await train('v1.0');
    const result: TrainingResult = await handle.result();
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.releasePage).toEqual({ published: true, url: `${fake.url}/ml/penguins/-/releases/v1.0` });
    expect(result.durations['release-page']).toBeGreaterThan(0);

    const release = fake.release('ml/penguins', 'v1.0')!;
    expect(release.name).toBe('penguins v1.0');
    // The report's plots are linked relative to the release folder; on the page, to where the store is served.
    const report = await readFile(path.join(stack.releaseDir('v1.0'), 'report.md'), 'utf8');
    expect(report).toContain('](plots/confusion-matrix.svg)');
    expect(release.description).toBe(report.replace('](plots/confusion-matrix.svg)', `](${ARTIFACTS}/penguins/v1.0/plots/confusion-matrix.svg)`));
    expect(release.description).toMatch(/## Metrics against the baseline[\s\S]*## Checks[\s\S]*PASS \*\*smoke\*\*[\s\S]*## Lineage/);
    expect(release.commit.id).toBe(result.release!.tagCommit);
    expect(release.links.map((l) => [l.name, l.url, l.link_type])).toEqual([
      ['model.onnx', `${ARTIFACTS}/penguins/v1.0/model.onnx`, 'package'],
      ['release.json', `${ARTIFACTS}/penguins/v1.0/release.json`, 'other'],
      ['report.md', `${ARTIFACTS}/penguins/v1.0/report.md`, 'other'],
      ['plots/confusion-matrix.svg', `${ARTIFACTS}/penguins/v1.0/plots/confusion-matrix.svg`, 'image'],
    ]);
    expect(fake.writes.map((w) => `${w.method} ${w.url} ${w.status}`)).toEqual(['POST /api/v4/projects/ml%2Fpenguins/releases 201']);

    const runs = await activityRuns(handle);
    // Last, after the machine is off: a slow GitLab holds neither the machine nor the location.
    expect(runs.map((r) => r.name).slice(-3)).toEqual(['publishRelease', 'stopMachine', 'publishReleasePage']);
    expect(runsOf(runs, 'publishReleasePage')).toEqual([{ name: 'publishReleasePage', attempt: 1, outcome: 'completed' }]);
  });

  it('a token GitLab refuses: the model is still accepted and released, the page is a warning', async () => {
    await useGitLab('CD4ML_TEST_GITLAB_WRONG');
    const handle = await train('v1.1');
    const result: TrainingResult = await handle.result();
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(stack.released('v1.1')).toBe(true);
    expect(JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8'))).toEqual({ tag: 'v1.1' });
    expect(await stack.example.tags()).toEqual(['v1.0', 'v1.1']);
    expect(result.releasePage).toEqual({
      published: false,
      failureType: 'CredentialsRejected',
      error: expect.stringMatching(/refused the token in CD4ML_TEST_GITLAB_WRONG \(401 401 Unauthorized\): set CD4ML_TEST_GITLAB_WRONG/),
    });
    // Non-retryable: one attempt, no release written.
    expect(runsOf(await activityRuns(handle), 'publishReleasePage')).toEqual([{ name: 'publishReleasePage', attempt: 1, outcome: 'failed' }]);
    expect(fake.release('ml/penguins', 'v1.1')).toBeUndefined();
  });

  it('finds no token in the worker logs or in any exported workflow history', async () => {
    const places: [string, string][] = [['control worker log', control.log]];
    const lease = stack.client.workflow.getHandle(locationWorkflowId('local'));
    for (const handle of [...trainings, lease]) places.push([`history of ${handle.workflowId}`, historyText(await handle.fetchHistory())]);

    // The scan reads what matters: the page activity's log lines, and the decoded payloads naming the variables.
    expect(control.log).toMatch(/release page/);
    expect(places.filter(([, text]) => text.includes('CD4ML_TEST_GITLAB_TOKEN')).length).toBeGreaterThanOrEqual(1);
    expect(places.some(([, text]) => text.includes('CD4ML_TEST_GITLAB_WRONG') && text.includes('401 Unauthorized'))).toBe(true);

    expect(placesWithSecrets(places, [TOKEN, WRONG])).toEqual([]);
    console.log(`scanned ${places.length} places, ${places.reduce((n, [, t]) => n + t.length, 0)} characters`);
  });
});
