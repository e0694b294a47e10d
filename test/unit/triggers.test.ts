import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommitCommandError, nightlyReleaseTag, parseCommitCommand, type ImageRequestInput, type TrainingRequestInput } from '@cd4ml/contracts';
import { buildGateway, type Starters } from '@cd4ml/client/webhook/gateway';
import { fromGitHub, fromGitLab } from '@cd4ml/client/webhook/push-event';
import { sameSecret, validSignature } from '@cd4ml/client/webhook/verify';
import { TrainingAlreadyRan } from '@cd4ml/client/start-training';
import { ciContext } from '@cd4ml/client/ci-context';
import { githubPush, gitlabPush } from '../fixtures/push-payloads.ts';

describe('commit-message commands', () => {
  it.each([
    ['trigger training v1.4', { kind: 'train', releaseTag: 'v1.4' }],
    ['trigger training v1.4\n\nlonger body', { kind: 'train', releaseTag: 'v1.4' }],
    ['trigger training v1.4 with more data', { kind: 'train', releaseTag: 'v1.4' }],
    ['Trigger Training Exp_2-b on gpu-alice', { kind: 'train', releaseTag: 'Exp_2-b', location: 'gpu-alice' }],
    ['  trigger training v2  ', { kind: 'train', releaseTag: 'v2' }],
    ['build image', { kind: 'build-image' }],
    ['build image: add CUDA 12', { kind: 'build-image' }],
    ['trigger training v1.4: more data', { kind: 'train', releaseTag: 'v1.4' }],
    ['trigger training v1.4 on gpu: more data', { kind: 'train', releaseTag: 'v1.4', location: 'gpu' }],
    ['build image for CUDA 12', { kind: 'build-image' }],
    ['fix: trigger training v1.4', null],
    ['trigger trainingv1', null],
    ['build images', null],
    ['data: next day', null],
    ['', null],
  ])('%j', (message, expected) => {
    expect(parseCommitCommand(message)).toEqual(expected);
  });

  it.each([
    ['trigger training', /needs a release tag/],
    ['trigger training v1..4', /"v1\.\.4" is not a release tag/],
    ['trigger training v1.4.lock', /not a release tag/],
    ['trigger training -v1', /not a release tag/],
    ['trigger training v1 on GPU', /"GPU" is not a location name/],
  ])('refuses %j, saying why', (message, why) => {
    expect(() => parseCommitCommand(message)).toThrow(CommitCommandError);
    expect(() => parseCommitCommand(message)).toThrow(why);
  });

  it('nightly tags carry the UTC time of the run', () => {
    expect(nightlyReleaseTag(new Date('2026-11-29T02:00:07.120Z'))).toBe('nightly-20261129-020007');
    expect(() => parseCommitCommand(`trigger training ${nightlyReleaseTag(new Date())}`)).not.toThrow();
  });
});

describe('push payloads', () => {
  it('reads a GitLab push: branch, head commit and its message, pusher, clone url', () => {
    expect(fromGitLab('Push Hook', gitlabPush({ message: 'trigger training v1.4' }))).toEqual({
      provider: 'gitlab', branch: 'main', commit: 'b'.repeat(40), message: 'trigger training v1.4\n',
      repoUrl: 'https://gitlab.example.com/ml/penguins.git', pusher: 'alice',
    });
  });

  it('reads a GitHub push', () => {
    expect(fromGitHub('push', githubPush({ message: 'build image', branch: 'dev' }))).toEqual({
      provider: 'github', branch: 'dev', commit: 'b'.repeat(40), message: 'build image',
      repoUrl: 'https://github.com/ml/penguins.git', pusher: 'alice',
    });
  });

  it('ignores tag pushes, deleted branches and other events', () => {
    expect(fromGitLab('Tag Push Hook', gitlabPush({}))).toHaveProperty('ignored');
    expect(fromGitLab('Push Hook', { ...gitlabPush({}), ref: 'refs/tags/v1.4' })).toEqual({ ignored: expect.stringContaining('tag push') });
    expect(fromGitLab('Push Hook', { ...gitlabPush({}), after: '0'.repeat(40), checkout_sha: null, commits: [] })).toEqual({ ignored: 'branch main deleted' });
    expect(fromGitHub('push', { ...githubPush({}), deleted: true, head_commit: null })).toEqual({ ignored: 'branch main deleted' });
    expect(fromGitHub('issues', githubPush({}))).toHaveProperty('ignored');
  });

  it('names what is missing from a payload', () => {
    expect(() => fromGitLab('Push Hook', { object_kind: 'push' })).toThrow(/not a GitLab push payload: ref: .*after/);
    expect(() => fromGitHub('push', { ref: 'refs/heads/main' })).toThrow(/not a GitHub push payload: after/);
  });
});

describe('webhook secrets', () => {
  it('compares tokens of any length', () => {
    expect(sameSecret('s3cret-token-0123', 's3cret-token-0123')).toBe(true);
    expect(sameSecret('s3cret-token-0124', 's3cret-token-0123')).toBe(false);
    expect(sameSecret('short', 's3cret-token-0123')).toBe(false);
    expect(sameSecret(undefined, 's3cret-token-0123')).toBe(false);
  });

  it('checks GitHub signatures over the raw body', () => {
    const body = Buffer.from('{"a":1}');
    const sig = `sha256=${createHmac('sha256', 'k'.repeat(20)).update(body).digest('hex')}`;
    expect(validSignature(body, sig, 'k'.repeat(20))).toBe(true);
    expect(validSignature(Buffer.from('{"a":2}'), sig, 'k'.repeat(20))).toBe(false);
    expect(validSignature(body, sig, 'j'.repeat(20))).toBe(false);
    expect(validSignature(body, 'sha1=abc', 'k'.repeat(20))).toBe(false);
    expect(validSignature(body, undefined, 'k'.repeat(20))).toBe(false);
  });
});

describe('webhook gateway (fake starters)', () => {
  const SECRET = 'test-webhook-secret-0123';
  function gateway(overrides: Partial<Starters> = {}) {
    const calls: { train: TrainingRequestInput[]; image: ImageRequestInput[] } = { train: [], image: [] };
    const starters: Starters = {
      train: async (r) => (calls.train.push(r), { workflowId: `train/${r.project}/${r.releaseTag}`, attached: false }),
      buildImage: async (r) => (calls.image.push(r), { workflowId: `image/${r.project}/abc`, attached: false }),
      ...overrides,
    };
    const app = buildGateway({ secret: SECRET, projects: { penguins: { repoUrl: '/srv/git/penguins.git' }, other: {} }, location: 'local', starters });
    const gitlab = (payload: unknown, headers: Record<string, string> = {}, project = 'penguins') =>
      app.inject({
        method: 'POST', url: `/webhooks/gitlab/${project}`, payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, ...headers },
      });
    const github = (payload: unknown, headers: Record<string, string> = {}) => {
      const body = JSON.stringify(payload);
      return app.inject({
        method: 'POST', url: '/webhooks/github/penguins', payload: body,
        headers: {
          'content-type': 'application/json', 'x-github-event': 'push',
          'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`, ...headers,
        },
      });
    };
    return { app, calls, gitlab, github };
  }

  it('starts a training from a GitLab push: the commit, branch, pusher, location, configured clone url', async () => {
    const { gitlab, calls } = gateway();
    const res = await gitlab(gitlabPush({ message: 'trigger training v1.4 on gpu' }));
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ started: 'train/penguins/v1.4', command: 'train' });
    expect(calls.train).toEqual([{
      project: 'penguins', repoUrl: '/srv/git/penguins.git', branch: 'main', commit: 'b'.repeat(40), requestedBy: 'alice',
      releaseTag: 'v1.4', location: 'gpu', reason: `gitlab push bbbbbbbb: trigger training v1.4 on gpu`,
    }]);
  });

  it('starts an image build from a signed GitHub push, with the forge\'s clone url when none is configured', async () => {
    const { app, calls } = gateway();
    const body = JSON.stringify(githubPush({ message: 'build image' }));
    const res = await app.inject({
      method: 'POST', url: '/webhooks/github/other', payload: body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(calls.image).toEqual([{ project: 'other', repoUrl: 'https://github.com/ml/penguins.git', branch: 'main', commit: 'b'.repeat(40), requestedBy: 'alice' }]);
  });

  it('refuses a wrong or missing token or signature before reading the body, and starts nothing', async () => {
    const { gitlab, github, calls } = gateway();
    for (const res of [
      await gitlab(gitlabPush({ message: 'trigger training v1' }), { 'x-gitlab-token': 'wrong' }),
      await gitlab('not even json', { 'x-gitlab-token': '' }),
      await github(githubPush({ message: 'trigger training v1' }), { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }),
    ]) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatch(/CD4ML_WEBHOOK_SECRET/);
      expect(res.body).not.toContain(SECRET);
    }
    expect(calls.train).toEqual([]);
  });

  it('answers pings, ignores pushes without a command, refuses bad input with what was wrong', async () => {
    const { gitlab, github, calls } = gateway();
    expect((await github({ zen: 'hi' }, { 'x-github-event': 'ping' })).json()).toEqual({ pong: true });
    const plain = await gitlab(gitlabPush({ message: 'data: next day' }));
    expect([plain.statusCode, plain.json()]).toEqual([200, { ignored: 'no command in the head commit\'s message ("data: next day")' }]);
    const badTag = await gitlab(gitlabPush({ message: 'trigger training v1..4' }));
    expect([badTag.statusCode, badTag.json().error]).toEqual([422, expect.stringContaining('"v1..4" is not a release tag')]);
    const unknown = await gitlab(gitlabPush({ message: 'trigger training v1' }), {}, 'nope');
    expect([unknown.statusCode, unknown.json().error]).toEqual([404, 'unknown project "nope": this gateway triggers penguins, other']);
    const malformed = await gitlab('{"object_kind": "push",');
    expect([malformed.statusCode, malformed.json().error]).toEqual([400, expect.stringMatching(/^malformed JSON/)]);
    const notPush = await gitlab({ object_kind: 'push', ref: 'refs/heads/main' });
    expect([notPush.statusCode, notPush.json().error]).toEqual([400, expect.stringContaining('after')]);
    const form = await gitlab('payload=%7B%7D');
    expect(form.statusCode).toBe(415);
    expect(calls.train).toEqual([]);
  });

  it('says a tag that was already trained conflicts, and hides internal errors', async () => {
    const { gitlab } = gateway({
      train: async (r) => {
        if (r.releaseTag === 'v1') throw new TrainingAlreadyRan('train/penguins/v1', 'completed');
        throw new Error('boom: internal detail');
      },
    });
    const again = await gitlab(gitlabPush({ message: 'trigger training v1' }));
    expect([again.statusCode, again.json().error]).toEqual([409, expect.stringContaining('train/penguins/v1 already ran (completed)')]);
    const broken = await gitlab(gitlabPush({ message: 'trigger training v2' }));
    expect([broken.statusCode, broken.json()]).toEqual([500, { error: 'internal error' }]);
  });

  it('will not start without a secret', () => {
    expect(() => buildGateway({ secret: '', projects: {}, location: 'local', starters: {} as Starters })).toThrow(/CD4ML_WEBHOOK_SECRET/);
  });
});

describe('CI job context', () => {
  it('reads GitLab CI variables', () => {
    expect(ciContext({ CI_COMMIT_MESSAGE: 'trigger training v2\n', CI_COMMIT_SHA: 'c'.repeat(40), CI_COMMIT_BRANCH: 'dev', GITLAB_USER_LOGIN: 'bob', USER: 'root' }))
      .toEqual({ message: 'trigger training v2\n', commit: 'c'.repeat(40), branch: 'dev', requestedBy: 'bob' });
  });

  it('reads GitHub Actions variables and the message from the event file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-ci-'));
    const eventPath = path.join(dir, 'event.json');
    await writeFile(eventPath, JSON.stringify(githubPush({ message: 'build image' })));
    expect(ciContext({ GITHUB_EVENT_PATH: eventPath, GITHUB_SHA: 'd'.repeat(40), GITHUB_REF: 'refs/heads/main', GITHUB_ACTOR: 'carol' }))
      .toEqual({ message: 'build image', commit: 'd'.repeat(40), branch: 'main', requestedBy: 'carol' });
    // A tag build has no branch.
    expect(ciContext({ GITHUB_EVENT_PATH: eventPath, GITHUB_REF: 'refs/tags/v1' }).branch).toBeUndefined();
    expect(() => ciContext({ GITHUB_EVENT_PATH: path.join(dir, 'missing.json') })).toThrow(/cannot read the commit message from \$GITHUB_EVENT_PATH/);
    await rm(dir, { recursive: true });
  });
});
