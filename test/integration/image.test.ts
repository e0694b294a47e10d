import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { CONTROL_TASK_QUEUE, FailureType, imageWorkflowId, type ImageResult } from '@cd4ml/contracts';
import { resolveImage } from '@cd4ml/activities/image/resolve-image';
import { Stack } from '../harness/stack.ts';
import { Registry, REGISTRY_LOGIN } from '../harness/registry.ts';
import { ImageProject, REGISTRY_ENV } from '../harness/image-project.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { activityRuns, waitUntil } from '../harness/training-probes.ts';
import { pendingStep } from '@cd4ml/client/watch-training';
import { buildGateway, temporalStarters } from '@cd4ml/client/webhook/gateway';
import { gitlabPush } from '../fixtures/push-payloads.ts';

const NAME = 'cd4ml/tiny';

/** Pids of processes whose command line holds `token`. */
async function processesWith(token: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(token)) pids.push(Number(entry));
  }
  return pids;
}

describe('training image: buildImage with real buildah and docker-registry', () => {
  let stack: Stack;
  let registry: Registry;
  let project: ImageProject;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    [stack, registry] = await Promise.all([Stack.start(), Registry.start({ auth: true })]);
    // The control worker runs in this process: the login reaches it through these variables, as in production.
    process.env[REGISTRY_ENV.usernameEnv] = REGISTRY_LOGIN.username;
    process.env[REGISTRY_ENV.passwordEnv] = REGISTRY_LOGIN.password;
    project = new ImageProject(path.join(stack.dir, 'tiny'), `${registry.host}/${NAME}`);
    await project.create();
    await stack.startControlWorker();
  });
  afterAll(async () => {
    console.log(`image timings (s): ${JSON.stringify(timings)}`);
    await stack?.stop();
    await registry?.stop();
  });

  /** What the CLI does: hash the commit's image context, start image/<project>/<hash>. */
  async function startBuild(branch = 'main'): Promise<{ handle: WorkflowHandle; hash: string }> {
    const plan = await resolveImage({ mirrorsDir: path.join(stack.dir, 'test-mirrors') }, { project: 'tiny', repoUrl: project.repoUrl, branch });
    const handle = await stack.client.workflow.start('buildImage', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: imageWorkflowId('tiny', plan.contentHash),
      args: [{ project: 'tiny', repoUrl: project.repoUrl, branch, commit: plan.commit }],
    });
    return { handle, hash: plan.contentHash };
  }

  async function build(branch = 'main', timing?: string): Promise<ImageResult & { hash: string }> {
    const started = Date.now();
    const { handle, hash } = await startBuild(branch);
    const result = (await handle.result()) as ImageResult;
    if (timing) timings[timing] = (Date.now() - started) / 1000;
    return { ...result, hash };
  }

  let first: ImageResult & { hash: string };

  it('builds and pushes a new image under its content hash, and tags the branch', async () => {
    first = await build('main', 'first build');
    expect(first.built).toBe(true);
    expect(first.ref).toBe(`${registry.host}/${NAME}:${first.hash}`);
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registry.digest(NAME, first.hash)).toBe(first.digest);
    expect(first.branchRef).toBe(`${registry.host}/${NAME}:main`);
    expect(await registry.digest(NAME, 'main')).toBe(first.digest);
    // What the build put in: the copied files, not the README nor what .dockerignore leaves out.
    expect(await registry.imageFiles(NAME, first.hash)).toEqual(['opt/app/train.py', 'opt/requirements.txt']);
  });

  it('skips the build when the context is unchanged (pnpm cd4ml build-image)', async () => {
    await project.write('README.md', '# tiny\n\nA change the image does not use.\n');
    await project.write('app/debug.log', 'ignored by .dockerignore\n');
    await project.commitAndPush('docs: readme');
    const started = Date.now();
    const cli = await execa(
      process.execPath,
      ['--import', 'tsx', 'client/src/cli.ts', 'build-image', '--repo', project.repoUrl, '--project', 'tiny'],
      { cwd: REPO_ROOT, env: { TEMPORAL_ADDRESS: stack.env.address, CD4ML_HOME: path.join(stack.dir, 'cli-home') }, reject: false },
    );
    timings['unchanged, via the CLI'] = (Date.now() - started) / 1000;
    expect(cli.exitCode, cli.stderr + cli.stdout).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`^started image/tiny/${first.hash}$`, 'm'));
    expect(cli.stdout).toMatch(/^ {2}resolve \d+\.\d s$/m);
    expect(cli.stdout).toMatch(/^ {2}image \d+\.\d s$/m);
    expect(cli.stdout).toContain(`UP TO DATE: ${first.ref} was already in the registry; nothing built`);
    expect(cli.stdout).toContain(`digest: ${first.digest}`);
    expect(await registry.tags(NAME)).toEqual([first.hash, 'main'].sort());
  });

  it('builds and pushes a new tag when a file the image copies changes; the branch tag follows', async () => {
    await project.write('app/train.py', 'print("training v2")\n');
    await project.commitAndPush('app: v2');
    const second = await build('main', 'changed context build');
    expect(second.built).toBe(true);
    expect(second.hash).not.toBe(first.hash);
    expect(second.digest).not.toBe(first.digest);
    expect(await registry.tags(NAME)).toEqual([first.hash, second.hash, 'main'].sort());
    expect(await registry.digest(NAME, second.hash)).toBe(second.digest);
    expect(await registry.digest(NAME, 'main')).toBe(second.digest);
    // The old image stays where it was: releases trained in it still name it.
    expect(await registry.digest(NAME, first.hash)).toBe(first.digest);

    const again = await build('main', 'unchanged, workflow');
    expect(again).toMatchObject({ built: false, digest: second.digest });
  });

  it('tags another branch with the same content without building', async () => {
    await project.commitAndPush('branch off', 'feature/wider-net');
    const branch = await build('feature/wider-net');
    expect(branch.built).toBe(false);
    expect(branch.branchRef).toBe(`${registry.host}/${NAME}:feature-wider-net`);
    expect(await registry.digest(NAME, 'feature-wider-net')).toBe(branch.digest);
  });

  it('a pushed "build image" commit message builds that commit (webhook gateway)', async () => {
    const home = process.env.CD4ML_HOME;
    process.env.CD4ML_HOME = path.join(stack.dir, 'gateway-home'); // the gateway's git mirrors
    onTestFinished(() => {
      if (home === undefined) delete process.env.CD4ML_HOME;
      else process.env.CD4ML_HOME = home;
    });
    const secret = 'image-webhook-secret-0123';
    const gateway = buildGateway({ secret, projects: { tiny: { repoUrl: project.repoUrl } }, location: 'local', starters: temporalStarters(stack.client) });
    await project.write('app/train.py', 'print("training v5")\n');
    const commit = await project.commitAndPush('build image: app v5', 'webhook');
    const res = await gateway.inject({
      method: 'POST', url: '/webhooks/gitlab/tiny', payload: JSON.stringify(gitlabPush({ message: 'build image: app v5', commit, branch: 'webhook' })),
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret },
    });
    expect(res.statusCode, res.body).toBe(202);
    const { started } = res.json() as { started: string };
    expect(started).toMatch(/^image\/tiny\/[0-9a-f]+$/);
    const result = (await stack.client.workflow.getHandle(started).result()) as ImageResult;
    expect(result.built).toBe(true);
    expect(result.ref).toBe(`${registry.host}/${NAME}:${started.split('/')[2]}`);
    expect(result.branchRef).toBe(`${registry.host}/${NAME}:webhook`);
    expect(await registry.imageFiles(NAME, 'webhook')).toEqual(['opt/app/train.py', 'opt/requirements.txt']);
    await gateway.close();
  });

  async function failure(handle: WorkflowHandle): Promise<ApplicationFailure> {
    const err = await handle.result().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  it('fails once, not retried, when the Dockerfile does not build, with the builder\'s output', async () => {
    await project.git('checkout', '--quiet', '-b', 'broken');
    await project.write('Dockerfile', 'FROM scratch\nCOPY missing.txt /opt/\n');
    await project.commitAndPush('image: copy a file that is not there', 'broken');
    await project.git('checkout', '--quiet', 'main');
    const { handle } = await startBuild('broken');
    const cause = await failure(handle);
    expect(cause.type).toBe(FailureType.ImageBuildFailed);
    expect(cause.message).toMatch(/image build with buildah exited with \d+: the Dockerfile does not build at this commit/);
    expect(cause.message).toMatch(/missing\.txt/);
    expect((await activityRuns(handle)).filter((r) => r.name === 'ensureImage')).toEqual([{ name: 'ensureImage', attempt: 1, outcome: 'failed' }]);
  });

  it('says which login is missing or refused, without retrying', async () => {
    const password = process.env[REGISTRY_ENV.passwordEnv];
    try {
      delete process.env[REGISTRY_ENV.passwordEnv];
      await project.write('app/train.py', 'print("training v3")\n');
      await project.commitAndPush('app: v3');
      const missing = await failure((await startBuild()).handle);
      expect(missing.type).toBe(FailureType.RegistryDenied);
      expect(missing.message).toContain(`image.credentials names $${REGISTRY_ENV.passwordEnv}, not set on the control worker`);

      process.env[REGISTRY_ENV.passwordEnv] = 'wrong-password';
      await project.write('app/train.py', 'print("training v4")\n');
      await project.commitAndPush('app: v4');
      const refused = await failure((await startBuild()).handle);
      expect(refused.type).toBe(FailureType.RegistryDenied);
      expect(refused.message).toMatch(/registry 127\.0\.0\.1:\d+ denied access to cd4ml\/tiny \(HTTP 401/);
      expect(refused.message).toContain(`check the login in $${REGISTRY_ENV.usernameEnv} / $${REGISTRY_ENV.passwordEnv}`);
      expect(refused.message).not.toContain('wrong-password');
    } finally {
      process.env[REGISTRY_ENV.passwordEnv] = password;
    }
  });

  it('cancelling mid-build stops the builder and its RUN step, and leaves no scratch folder', async () => {
    const token = `cd4ml-cancel-${process.pid}-${Date.now()}`;
    await project.git('checkout', '--quiet', '-b', 'slow');
    await project.addSleeper();
    await project.write('Dockerfile', `FROM scratch\nCOPY sleeper /sleeper\nRUN ["/sleeper", "300", "${token}"]\n`);
    await project.commitAndPush('image: a RUN step that takes five minutes', 'slow');
    await project.git('checkout', '--quiet', 'main');
    const { handle } = await startBuild('slow');
    await waitUntil('the RUN step', async () => (await pendingStep(handle))?.heartbeat?.imageStep === 'build' && (await processesWith(token)).length > 0);

    const cancelledAt = Date.now();
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    timings['cancel to closed'] = (Date.now() - cancelledAt) / 1000;
    // The activity waits for its processes (WAIT_CANCELLATION_COMPLETED): by now they are gone.
    expect(await processesWith(token)).toEqual([]);
    const builds = await readdir(path.join(stack.home, 'images', 'builds'));
    expect(builds.filter((f) => !f.endsWith('.pid'))).toEqual([]);
    expect((await activityRuns(handle)).filter((r) => r.name === 'ensureImage').map((r) => r.outcome)).toEqual(['canceled']);
  });

  it('trainModel builds the image after the lease and before the machine starts', async () => {
    await project.write('requirements.txt', 'dvc==3.63.0\nnumpy\n');
    const commit = await project.commitAndPush('deps: numpy');
    // No location worker runs in this file: the training gets as far as checkout, then is cancelled.
    const handle = await stack.startTraining({ project: 'tiny', repoUrl: project.repoUrl, releaseTag: 'img-1', commit });
    await waitUntil('checkout to be scheduled', async () => (await activityRuns(handle)).some((r) => r.name === 'checkout'));
    const runs = await activityRuns(handle);
    expect(runs.map((r) => r.name)).toEqual(['resolveTraining', 'requestLease', 'ensureImage', 'startMachine', 'checkout']);
    expect(runs.find((r) => r.name === 'ensureImage')?.outcome).toBe('completed');
    const { contentHash } = await resolveImage(
      { mirrorsDir: path.join(stack.dir, 'test-mirrors') }, { project: 'tiny', repoUrl: project.repoUrl, commit },
    );
    expect(await registry.digest(NAME, contentHash)).toMatch(/^sha256:/);
    expect(await registry.digest(NAME, 'main')).toBe(await registry.digest(NAME, contentHash));
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  });
});
