import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createHmac } from 'node:crypto';
import { execa } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { buildGateway, temporalStarters } from '@cd4ml/client/webhook/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NightlyResult, TrainingRequest, TrainingResult } from '@cd4ml/contracts';
import { nightlyScheduleId } from '@cd4ml/contracts';
import { describeNightly, runNightlyNow, setNightlySchedule } from '@cd4ml/client/nightly-schedule';
import { findNewData } from '@cd4ml/activities/resolve/find-new-data';
import { Stack } from '../harness/stack.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { freePort } from '../harness/free-port.ts';
import { waitUntil } from '../harness/training-probes.ts';
import { githubPush, gitlabPush } from '../fixtures/push-payloads.ts';

const SECRET = 'integration-webhook-secret-0123';

describe('triggers: the CI webhook gateway and the nightly schedule (real Temporal, dvc, git)', () => {
  let stack: Stack;
  let gateway: ChildProcess;
  let gatewayLog = '';
  let url: string;

  const cli = (...args: string[]) =>
    execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', ...args], {
      cwd: REPO_ROOT, env: { TEMPORAL_ADDRESS: stack.env.address }, reject: false,
    });
  const latestTag = async () => (JSON.parse(await readFile(path.join(stack.store, 'penguins', 'latest.json'), 'utf8')) as { tag: string }).tag;
  const gitlab = (payload: unknown, token = SECRET) =>
    fetch(`${url}/webhooks/gitlab/penguins`, {
      method: 'POST', body: JSON.stringify(payload),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token },
    });

  beforeAll(async () => {
    stack = await Stack.start();
    await stack.example.create();
    await stack.startControlWorker();
    await stack.startLocationWorker();
    // The gateway as users run it: its own process, the secret from the environment.
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    gateway = spawn(process.execPath, [
      '--import', 'tsx', 'client/src/cli.ts', 'webhook', '--project', `penguins=${stack.example.repoUrl}`, '--port', String(port), '--host', '127.0.0.1',
    ], { cwd: REPO_ROOT, env: { ...process.env, TEMPORAL_ADDRESS: stack.env.address, CD4ML_WEBHOOK_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
    gateway.stdout!.on('data', (d: Buffer) => (gatewayLog += d.toString()));
    gateway.stderr!.on('data', (d: Buffer) => (gatewayLog += d.toString()));
    await waitUntil('the webhook gateway', async () => (await fetch(`${url}/healthz`)).ok, 60_000, async () => gatewayLog);
  });
  afterAll(async () => {
    gateway?.kill('SIGTERM');
    await stack?.stop();
  });

  it('a GitLab push whose head commit says "trigger training v1.0" trains and releases that commit', async () => {
    const commit = (await stack.example.run('git', 'rev-parse', 'HEAD')).trim();
    const push = gitlabPush({ message: 'trigger training v1.0', commit, repoUrl: 'https://gitlab.example.com/not/used.git' });

    const res = await gitlab(push);
    expect(res.status, await res.clone().text()).toBe(202);
    expect(await res.json()).toEqual({ started: 'train/penguins/v1.0', command: 'train' });
    const handle = stack.client.workflow.getHandle('train/penguins/v1.0');
    const result = (await handle.result()) as TrainingResult;
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.commit).toBe(commit);
    expect(stack.released('v1.0')).toBe(true);
    // Who and why are on the run, as the Web UI shows them.
    const history = await handle.fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const request = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString()) as TrainingRequest;
    expect(request).toMatchObject({ repoUrl: stack.example.repoUrl, commit, branch: 'main', requestedBy: 'alice', location: 'local', reason: `gitlab push ${commit.slice(0, 8)}: trigger training v1.0` });
    expect(JSON.stringify(history)).not.toContain(SECRET);

    // The same delivery again: the tag is trained once.
    const again = await gitlab(push);
    expect(again.status).toBe(409);
    expect((await again.json()).error).toContain('train/penguins/v1.0 already ran (completed)');
  });

  it('refuses a wrong token and a bad tag without starting anything, and never logs the secret', async () => {
    const wrong = await gitlab(gitlabPush({ message: 'trigger training v9' }), 'not-the-secret');
    expect(wrong.status).toBe(401);
    const bad = await gitlab(gitlabPush({ message: 'trigger training v9..1' }));
    expect(bad.status).toBe(422);
    expect((await bad.json()).error).toContain('"v9..1" is not a release tag');
    const runs: string[] = [];
    for await (const w of stack.client.workflow.list({ query: `WorkflowType = 'trainModel'` })) runs.push(w.workflowId);
    expect(runs).toEqual(['train/penguins/v1.0']);
    expect(gatewayLog).toContain('webhook handled');
    expect(gatewayLog).not.toContain(SECRET);
  });

  it('a signed GitHub "build image" push for a project without an image section gets 422 saying so', async () => {
    const commit = (await stack.example.run('git', 'rev-parse', 'HEAD')).trim();
    const body = JSON.stringify(githubPush({ message: 'build image', commit }));
    const res = await fetch(`${url}/webhooks/github/penguins`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
    });
    expect(res.status).toBe(422);
    expect((await res.json()).error).toMatch(/^cd4ml.yaml at [0-9a-f]{8} has no image section: add one/);
  });

  it('the nightly schedule trains only when the branch holds new DVC data', async () => {
    for (const [flags, why] of [
      [['--cron', '0 2 * *'], /--cron must have 5 fields/],
      [['--cron', '61 2 * * *'], /Temporal refused the schedule \(--cron "61 2 \* \* \*"/],
      [['--timezone', 'Mars/Olympus'], /Temporal refused the schedule .*--timezone "Mars\/Olympus"/],
    ] as const) {
      const bad = await cli('nightly', 'set', '--repo', stack.example.repoUrl, '--project', 'penguins', ...flags);
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(why);
    }
    expect(await describeNightly(stack.client, 'penguins')).toBeNull();
    const set = await cli('nightly', 'set', '--repo', stack.example.repoUrl, '--project', 'penguins', '--cron', '30 3 * * *', '--timezone', 'Europe/Berlin');
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^created nightly\/penguins: "30 3 \* \* \*" \(Europe\/Berlin\), main on local$/m);
    const schedule = (await describeNightly(stack.client, 'penguins'))!;
    expect(schedule.spec.timezone).toBe('Europe/Berlin');
    // 03:30 in Berlin is 02:30 UTC in winter, 01:30 in summer.
    expect(schedule.info.nextActionTimes[0]!.toISOString()).toMatch(/T0[12]:30:00\.000Z$/);
    expect(schedule.policies.overlap).toBe('SKIP');

    // Before any release every tracked output is new; a store with releases compares with the latest.
    const first = await findNewData({ mirrorsDir: path.join(stack.dir, 'probe-mirrors'), defaultStore: path.join(stack.dir, 'empty-store') }, { project: 'penguins', repoUrl: stack.example.repoUrl });
    expect(first).toEqual({ commit: expect.stringMatching(/^[0-9a-f]{40}$/), latestTag: null, changed: [{ path: 'data/raw', released: null, now: expect.stringMatching(/\.dir$/) }] });

    // Nothing new since v1.0: no training.
    const quietId = await runNightlyNow(stack.client, 'penguins');
    expect(quietId.startsWith(`${nightlyScheduleId('penguins')}-`)).toBe(true);
    const quiet = (await stack.client.workflow.getHandle(quietId).result()) as NightlyResult;
    expect(quiet.latestTag).toBe('v1.0');
    expect(quiet.changed).toEqual([]);
    expect(quiet.training).toBeUndefined();
    expect(quiet.summary).toMatch(/^no new data at [0-9a-f]{8} since v1\.0: nothing to train$/);

    // A code-only commit is not new data either.
    await stack.example.writeFile('NOTES.md', 'notes\n', 'docs: notes');
    const quietCli = await cli('nightly', 'run', '--project', 'penguins');
    expect(quietCli.exitCode, quietCli.stderr).toBe(0);
    expect(quietCli.stdout).toMatch(/^started nightly\/penguins-\S+\nno new data at [0-9a-f]{8} since v1\.0: nothing to train$/m);

    // A new day of data: trained, gated against v1.0, released.
    expect(await stack.example.appendDay()).not.toBeNull();
    const head = (await stack.example.run('git', 'rev-parse', 'HEAD')).trim();
    // `nightly run` follows the training the run starts, as `train` does.
    const run = await cli('nightly', 'run', '--project', 'penguins');
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^new data: training train\/penguins\/nightly-\d{8}-\d{6}$/m);
    expect(run.stdout).toMatch(/^ {2}dvc-repro \d+\.\d s$/m);
    expect(run.stdout).toMatch(/^ACCEPTED: nightly-\d{8}-\d{6}/m);
    const fresh = (await stack.client.workflow.getHandle(/^started (\S+)$/m.exec(run.stdout)![1]!).result()) as NightlyResult;
    expect(fresh.commit).toBe(head);
    expect(fresh.changed).toEqual([{ path: 'data/raw', released: expect.stringMatching(/\.dir$/), now: expect.stringMatching(/\.dir$/) }]);
    expect(fresh.training?.releaseTag).toMatch(/^nightly-\d{8}-\d{6}$/);
    expect(fresh.training?.workflowId).toBe(`train/penguins/${fresh.training!.releaseTag}`);
    expect(fresh.training?.result.decision, fresh.training?.result.reasons.join('\n')).toBe('accepted');
    expect(fresh.training?.result.baseline?.tag).toBe('v1.0');
    expect(await latestTag()).toBe(fresh.training!.releaseTag);

    const show = await cli('nightly', 'show', '--project', 'penguins');
    expect(show.stdout).toContain('nightly/penguins: active, time zone Europe/Berlin');
    expect(show.stdout).toContain(`retrains penguins from ${stack.example.repoUrl} main on local`);
    expect(show.stdout.match(/^ {2}ran /gm)).toHaveLength(3);
    expect(show.stdout).toMatch(/^ {2}ran \S+: nightly\/penguins-\S+ completed: no new data at [0-9a-f]{8} since v1\.0: nothing to train$/m);
    expect(show.stdout).toContain(`completed: new data in data/raw since v1.0: training ${fresh.training!.releaseTag}`);

    const removed = await cli('nightly', 'remove', '--project', 'penguins');
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(await describeNightly(stack.client, 'penguins')).toBeNull();
    const gone = await cli('nightly', 'run', '--project', 'penguins');
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain('no nightly schedule for penguins: create it with "pnpm cd4ml nightly set');
  });

  it('a CI job runs "cd4ml ci": it does what the commit message asks and follows it, like train', async () => {
    const head = (await stack.example.run('git', 'rev-parse', 'HEAD')).trim();
    const gitlabJob = (message: string) =>
      execa(process.execPath, ['--import', 'tsx', 'client/src/cli.ts', 'ci', '--repo', stack.example.repoUrl, '--project', 'penguins'], {
        cwd: REPO_ROOT, reject: false,
        env: { TEMPORAL_ADDRESS: stack.env.address, CI_COMMIT_MESSAGE: message, CI_COMMIT_SHA: head, CI_COMMIT_BRANCH: 'main', GITLAB_USER_LOGIN: 'bob' },
      });

    const nothing = await gitlabJob('docs: typo');
    expect(nothing.exitCode, nothing.stderr).toBe(0);
    expect(nothing.stdout).toContain('nothing to do: the commit message asks for no training or image build ("docs: typo")');

    const bad = await gitlabJob('trigger training v1..1');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('"v1..1" is not a release tag');

    const run = await gitlabJob('trigger training v1.1\n\nretrain after the nightly');
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^started train\/penguins\/v1\.1$/m);
    expect(run.stdout).toMatch(/^ACCEPTED: v1\.1/m);
    const started = (await stack.client.workflow.getHandle('train/penguins/v1.1').fetchHistory()).events![0]!.workflowExecutionStartedEventAttributes!;
    const request = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString()) as TrainingRequest;
    expect(request).toMatchObject({ commit: head, branch: 'main', requestedBy: 'bob', reason: `ci ${head.slice(0, 8)}: trigger training v1.1` });
  });

  it('answers 503 when Temporal does not take the request, so the forge can redeliver', async () => {
    // A real client whose server is gone: the gateway's deadline ends the SDK's retries.
    const dead = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: '1s' }) });
    const app = buildGateway({ secret: SECRET, projects: { penguins: { repoUrl: stack.example.repoUrl } }, location: 'local', starters: temporalStarters(dead) });
    const res = await app.inject({
      method: 'POST', url: '/webhooks/gitlab/penguins', payload: JSON.stringify(gitlabPush({ message: 'trigger training v5' })),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET },
    });
    expect(res.statusCode, res.body).toBe(503);
    // The gateway's deadline ended it (within GitLab's 10 s delivery timeout), not the SDK's own retries (about 20 s).
    expect(res.json().error).toMatch(/^Temporal did not take the request \(Failed to start Workflow: 4 DEADLINE_EXCEEDED.*\): redeliver the webhook once it is up$/);
    await app.close();
  }, 90_000);
});
