import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ProjectReleases } from '@gitbeaker/rest';
import { GitLabConfig, artifactUrl } from '@cd4ml/contracts';
import { publishReleasePage, type ReleasePage, type ReleasePageInput } from '@cd4ml/activities/release/gitlab/release-page';
import { FakeGitLab } from '../fakes/gitlab.ts';
import { freePort } from '../harness/free-port.ts';

const TOKEN = `glpat-${randomBytes(16).toString('hex')}`;
const READ_ONLY = `glpat-${randomBytes(16).toString('hex')}`;
const WRONG = `glpat-${randomBytes(16).toString('hex')}`;
const ARTIFACTS = 'https://artifacts.example.com/releases';
const REPORT = '# penguins v1.0\n\n## Metrics against the baseline (none: first model)\n\n| accuracy | 0.9815 | - | |\n';

/** Every log line of every activity run in this file, scanned for the tokens at the end. */
const logs: string[] = [];
const logger = new DefaultLogger('TRACE', (entry) =>
  logs.push(JSON.stringify(entry, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))));

let fake: FakeGitLab;
let store: string;

const input = (gitlab: Partial<GitLabConfig> = {}): ReleasePageInput => ({
  gitlab: GitLabConfig.parse({ url: fake.url, project: 'ml/penguins', artifactsUrl: ARTIFACTS, ...gitlab }),
  store,
  project: 'penguins',
  tag: 'v1.0',
  tagCommit: 'a'.repeat(40),
});

const publish = (i: ReleasePageInput, env: NodeJS.ProcessEnv = { GITLAB_TOKEN: TOKEN }) =>
  new MockActivityEnvironment(undefined, { logger }).run(publishReleasePage, i, env) as Promise<ReleasePage>;

/** The activity's failure, and everything of it that could reach workflow history, as one text. */
async function failureOf(run: Promise<unknown>): Promise<{ failure: ApplicationFailure; text: string }> {
  const failure = await run.then(() => { throw new Error('expected the release page to fail'); }, (e: unknown) => e);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  const f = failure as ApplicationFailure;
  return { failure: f, text: [f.message, f.stack, JSON.stringify(f), String(f.cause)].join('\n') };
}

const writeReport = (text: string) => writeFile(path.join(store, 'penguins/v1.0/report.md'), text);

beforeEach(async () => {
  fake = await FakeGitLab.start({ token: TOKEN, readOnlyToken: READ_ONLY, projects: [{ id: 7, path: 'ml/penguins' }] });
  store = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-page-'));
  await mkdir(path.join(store, 'penguins/v1.0'), { recursive: true });
  await writeReport(REPORT);
});
afterEach(async () => {
  await fake.stop();
  await rm(store, { recursive: true, force: true });
});

describe('publishReleasePage against the fake GitLab', () => {
  it('creates the release with the report as notes and links to the stored files, in one write', async () => {
    const page = await publish(input());
    expect(page).toEqual({ url: `${fake.url}/ml/penguins/-/releases/v1.0`, changes: ['created the release with its links'] });
    const release = fake.release('ml/penguins', 'v1.0')!;
    expect(release.description).toBe(REPORT);
    expect(release.name).toBe('penguins v1.0');
    expect(release.commit.id).toBe('a'.repeat(40));
    expect(release.links.map(({ name, url, link_type }) => ({ name, url, link_type }))).toEqual([
      { name: 'model.onnx', url: `${ARTIFACTS}/penguins/v1.0/model.onnx`, link_type: 'package' },
      { name: 'release.json', url: `${ARTIFACTS}/penguins/v1.0/release.json`, link_type: 'other' },
      { name: 'report.md', url: `${ARTIFACTS}/penguins/v1.0/report.md`, link_type: 'other' },
    ]);
    expect(fake.writes.map((w) => `${w.method} ${w.url} ${w.status}`)).toEqual(['POST /api/v4/projects/ml%2Fpenguins/releases 201']);
  });

  it('writes nothing when publishing again: a retry changes nothing', async () => {
    await publish(input());
    const before = fake.requests.length;
    const again = await publish(input());
    expect(again.changes).toEqual([]);
    expect(fake.writes).toHaveLength(1);
    expect(fake.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
  });

  it('updates the notes when the report changed, and nothing else', async () => {
    await publish(input());
    await writeReport(`${REPORT}\n## Checks\n\n- PASS **smoke**: exact\n`);
    const page = await publish(input());
    expect(page.changes).toEqual(['updated the notes']);
    expect(fake.release(7, 'v1.0')!.description).toContain('PASS **smoke**');
    expect(fake.writes.map((w) => w.method)).toEqual(['POST', 'PUT']);
  });

  it('adds a missing link, fixes moved ones, and leaves links it does not own alone', async () => {
    await publish(input());
    const release = fake.release(7, 'v1.0')!;
    release.links = release.links.filter((l) => l.name !== 'report.md');
    release.links.push({ id: 99, name: 'dashboard', url: 'https://grafana.example.com/d/1', direct_asset_url: '', link_type: 'runbook' });
    const moved = 'https://cdn.example.com/models';
    const page = await publish(input({ artifactsUrl: moved }));
    expect(page.changes).toEqual(['fixed link model.onnx', 'fixed link release.json', 'added link report.md']);
    expect(fake.release(7, 'v1.0')!.links.map((l) => [l.name, l.url])).toEqual([
      ['model.onnx', `${moved}/penguins/v1.0/model.onnx`],
      ['release.json', `${moved}/penguins/v1.0/release.json`],
      ['dashboard', 'https://grafana.example.com/d/1'],
      ['report.md', `${moved}/penguins/v1.0/report.md`],
    ]);
    expect(fake.writes.map((w) => w.method)).toEqual(['POST', 'PUT', 'PUT', 'POST']);
  });

  it('names the project by numeric id as well as by path', async () => {
    await publish(input({ project: 7 }));
    expect(fake.requests.map((r) => r.url)).toEqual(['/api/v4/projects/7/releases/v1.0', '/api/v4/projects/7/releases']);
    expect(fake.release('ml/penguins', 'v1.0')).toBeDefined();
  });

  it('takes a release an earlier attempt created (409) as its own', async () => {
    await publish(input());
    fake.failNext(1, 404); // the read misses it, as if the create's answer had been lost
    const page = await publish(input());
    expect(page.changes).toEqual([]);
    expect(fake.writes.map((w) => `${w.method} ${w.status}`)).toEqual(['POST 201', 'POST 409']);
  });

  it('a wrong token: non-retryable, names the variable to set, and carries no token', async () => {
    const { failure, text } = await failureOf(publish(input(), { GITLAB_TOKEN: WRONG }));
    expect(failure.type).toBe('CredentialsRejected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/refused the token in GITLAB_TOKEN \(401 401 Unauthorized\): set GITLAB_TOKEN on the control worker/);
    expect(failure.cause).toBeUndefined();
    expect(text).not.toContain(WRONG);
    expect(fake.writes).toEqual([]);
  });

  it('a token without write access (403): non-retryable, and nothing written', async () => {
    const { failure, text } = await failureOf(publish(input({ tokenEnv: 'CI_GITLAB_TOKEN' }), { CI_GITLAB_TOKEN: READ_ONLY }));
    expect(failure.type).toBe('CredentialsRejected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/403 Forbidden.*set CI_GITLAB_TOKEN/);
    expect(text).not.toContain(READ_ONLY);
    expect(fake.release(7, 'v1.0')).toBeUndefined();
  });

  it('a missing variable: ConfigInvalid naming it, before any request', async () => {
    const { failure } = await failureOf(publish(input({ tokenEnv: 'CD4ML_GITLAB_TOKEN' }), { GITLAB_TOKEN: TOKEN }));
    expect(failure.type).toBe('ConfigInvalid');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/^CD4ML_GITLAB_TOKEN is not set on the control worker: set it to a GitLab token/);
    expect(fake.requests).toEqual([]);
  });

  it('an unknown project: ConfigInvalid naming gitlab.project', async () => {
    const { failure } = await failureOf(publish(input({ project: 'ml/pinguins' })));
    expect(failure.type).toBe('ConfigInvalid');
    expect(failure.message).toMatch(/project ml\/pinguins not found \(404 404 Project Not Found\): check gitlab\.project/);
  });

  it('a 5xx is retryable, and the next attempt completes the page', async () => {
    fake.failNext(1, 503);
    const { failure } = await failureOf(publish(input()));
    expect(failure.type).toBe('GitLabUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/reading release v1\.0: GitLab .* answered 503/);
    expect((await publish(input())).changes).toEqual(['created the release with its links']);
  });

  it('a GitLab that does not answer in time: retryable', async () => {
    fake.delayNext(1500);
    const started = Date.now();
    const { failure } = await failureOf(publish(input({ timeout: '300ms' })));
    expect(Date.now() - started).toBeLessThan(1200);
    expect(failure.type).toBe('GitLabUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/did not answer within 300ms/);
  });

  it('a GitLab that cannot be reached: retryable, with the reason', async () => {
    const closed = await freePort();
    const { failure } = await failureOf(publish(input({ url: `http://127.0.0.1:${closed}` })));
    expect(failure.type).toBe('GitLabUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toMatch(/cannot reach GitLab http:\/\/127\.0\.0\.1:\d+, project ml\/penguins: ECONNREFUSED/);
  });

  it('a folder store without gitlab.artifactsUrl: ConfigInvalid before any request', async () => {
    const i = input();
    delete i.gitlab.artifactsUrl;
    const { failure } = await failureOf(publish(i));
    expect(failure.type).toBe('ConfigInvalid');
    expect(failure.message).toMatch(/^gitlab\.artifactsUrl: required with a folder store \(.*\): GitLab links only http\(s\) urls/);
    expect(fake.requests).toEqual([]);
  });

  it("gitbeaker's own error holds the token (why it is never passed on as a cause)", async () => {
    const api = new ProjectReleases({ host: fake.url, token: WRONG });
    const err = await api.show('ml/penguins', 'v1.0').catch((e: unknown) => e) as { cause?: { request?: Request } };
    expect(err.cause?.request?.headers.get('private-token')).toBe(WRONG);
  });
});

describe('artifactUrl', () => {
  it('puts the key under artifactsUrl, whatever the store', () => {
    expect(artifactUrl('/srv/releases', 'penguins/v1.0/model.onnx', 'https://a.example.com/r/')).toBe('https://a.example.com/r/penguins/v1.0/model.onnx');
    expect(artifactUrl('s3://bucket/p', 'penguins/v 1/report.md', 'https://cdn.example.com')).toBe('https://cdn.example.com/penguins/v%201/report.md');
  });

  it('links an s3:// store to the S3 console, prefix included', () => {
    expect(artifactUrl('s3://ml-releases/cd4ml/', 'penguins/v1.0/model.onnx'))
      .toBe('https://s3.console.aws.amazon.com/s3/object/ml-releases?prefix=cd4ml%2Fpenguins%2Fv1.0%2Fmodel.onnx');
    expect(artifactUrl('s3://ml-releases', 'penguins/v1.0/model.onnx'))
      .toBe('https://s3.console.aws.amazon.com/s3/object/ml-releases?prefix=penguins%2Fv1.0%2Fmodel.onnx');
  });

  it('has no url for a folder of its own', () => {
    expect(artifactUrl('/srv/releases', 'penguins/v1.0/model.onnx')).toBeNull();
  });
});

afterAll(() => {
  // The activity logged (so the scan saw something), and no token reached a log line.
  expect(logs.some((l) => l.includes('release page'))).toBe(true);
  for (const secret of [TOKEN, READ_ONLY, WRONG]) expect(logs.filter((l) => l.includes(secret))).toEqual([]);
});
