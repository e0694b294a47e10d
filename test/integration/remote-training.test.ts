import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ReleaseManifest, locationWorkflowId, reaperScheduleId, type TrainingResult } from '@cd4ml/contracts';
import { createS3Client, S3Store } from '@cd4ml/stores';
import { Stack } from '../harness/stack.ts';
import { Moto, MOTO_CREDENTIALS } from '../harness/moto.ts';
import { SimulatedFleet } from '../harness/ec2-fleet.ts';
import { activityRuns, progressOf, runsOf, waitUntil } from '../harness/training-probes.ts';
import { pendingStep } from '@cd4ml/client/watch-training';
import { historyText, placesWithSecrets } from '../harness/secrets-scan.ts';
import type { WorkerProcess } from '../harness/worker-process.ts';
import { FakeGitLab } from '../fakes/gitlab.ts';

const TOKEN = `glpat-${randomBytes(16).toString('hex')}`;
const STORE_URL = 's3://cd4ml-releases/team';

/**
 * The seeds' setup end to end: training on a launched EC2 instance, data in a
 * DVC remote on S3, the release in an S3 store, a GitLab release page. moto
 * for EC2 and S3, the fake GitLab, real Temporal, dvc and git; every worker
 * is its own process, so the test reads everything they log.
 */
describe('remote training: EC2 + S3 + GitLab (moto, fake GitLab, workers as processes)', () => {
  let moto: Moto;
  let stack: Stack;
  let fleet: SimulatedFleet;
  let gitlab: FakeGitLab;
  let control: WorkerProcess;
  let result: TrainingResult;

  beforeAll(async () => {
    moto = await Moto.start();
    const s3 = createS3Client(moto.clientConfig());
    for (const Bucket of ['cd4ml-releases', 'cd4ml-dvc']) await s3.send(new CreateBucketCommand({ Bucket }));
    s3.destroy();
    await moto.createLaunchTemplate();
    gitlab = await FakeGitLab.start({ token: TOKEN, projects: [{ id: 7, path: 'ml/penguins' }] });

    stack = await Stack.start({
      store: STORE_URL,
      example: { dvcRemote: { url: 's3://cd4ml-dvc/penguins', endpointUrl: moto.endpoint }, env: moto.env() },
    });
    await stack.example.create();
    const config = (await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8')).replace(/locations:[\s\S]*$/, stringify({
      locations: {
        gpu: {
          provider: 'ec2', region: 'us-east-1', endpoint: moto.endpoint, launchTemplate: 'cd4ml-gpu',
          instanceTypes: ['g5.xlarge'], spot: true, hourlyPrice: 1.006,
        },
      },
      store: STORE_URL,
      gitlab: { url: gitlab.url, project: 'ml/penguins', tokenEnv: 'CD4ML_TEST_GITLAB_TOKEN' },
    }));
    await stack.example.writeFile('cd4ml.yaml', config, 'cd4ml: train on EC2, release to S3 and GitLab');
    // Secrets only in the workers' environments, where the AWS SDK's chain and the config's tokenEnv find them.
    control = await stack.spawnWorker('control', 'local', {
      ...moto.env(), CD4ML_TEST_GITLAB_TOKEN: TOKEN, LOG_LEVEL: 'debug', TEMPORAL_LOG_LEVEL: 'DEBUG',
    });
    fleet = new SimulatedFleet(stack, moto.endpoint, 'us-east-1', { ...moto.env(), LOG_LEVEL: 'debug' }).start();
    const handle = await stack.startTraining({ releaseTag: 'v1.0', location: 'gpu' });
    result = await Promise.race([
      handle.result(),
      waitUntil('never', async () => false, 240_000, async () =>
        `training v1.0 stuck: ${JSON.stringify(await progressOf(handle))} pending ${JSON.stringify(await pendingStep(handle))}\ncontrol: ${control.log.slice(-3000)}\nlocation: ${fleet.spawned.map((p) => p.log.slice(-2000)).join('\n')}`),
    ]);
  }, 300_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
    await gitlab?.stop();
    await moto?.stop();
  });

  it('releases into S3 with a matching sha256, publishes the GitLab page with its links, and terminates the instance', async () => {
    expect(result.decision, result.reasons.join('\n')).toBe('accepted');
    expect(result.release).toMatchObject({ store: STORE_URL, key: 'penguins/v1.0' });

    const store = new S3Store(STORE_URL, { client: createS3Client(moto.clientConfig()) });
    const manifest = ReleaseManifest.parse(JSON.parse((await store.getText('penguins/v1.0/release.json'))!));
    const model = await readFile(await store.localFile('penguins/v1.0/model.onnx'));
    expect(createHash('sha256').update(model).digest('hex')).toBe(manifest.model.sha256);
    expect(JSON.parse((await store.getText('penguins/latest.json'))!)).toEqual({ tag: 'v1.0' });
    expect(manifest.machine).toMatchObject({ provider: 'ec2', instanceType: 'g5.xlarge' });
    expect(manifest.machine.estimatedCost).toBeGreaterThan(0);
    expect(result.estimatedCost).toBeCloseTo((result.machineSeconds / 3600) * 1.006, 4);

    const page = gitlab.release('ml/penguins', 'v1.0')!;
    expect(page).toBeDefined();
    expect(page.description).toContain('## Checks');
    expect(page.links.map((l) => l.name).sort()).toEqual(['model.onnx', 'plots/confusion-matrix.svg', 'release.json', 'report.md']);
    for (const link of page.links) expect(link.url).toContain(encodeURIComponent(`team/penguins/v1.0/${link.name}`));
    expect(result.releasePage).toMatchObject({ published: true });

    const instances = await fleet.instances();
    expect(instances).toEqual([expect.objectContaining({ workflowId: 'train/penguins/v1.0', state: 'terminated', type: 'g5.xlarge' })]);
    expect(await fleet.running()).toEqual([]);
    const runs = await activityRuns(stack.client.workflow.getHandle('train/penguins/v1.0'));
    expect(runsOf(runs, 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
  });

  it('no secret (AWS keys, GitLab token) in any worker log or exported workflow history', async () => {
    const handles = [
      stack.client.workflow.getHandle('train/penguins/v1.0'),
      stack.client.workflow.getHandle(locationWorkflowId('gpu')),
    ];
    const places: [string, string][] = [
      ['control worker log', control.log],
      ...fleet.spawned.map((p, i): [string, string] => [`location worker ${i} log`, p.log]),
    ];
    for (const h of handles) places.push([`history of ${h.workflowId}`, historyText(await h.fetchHistory())]);
    const schedule = await stack.client.schedule.getHandle(reaperScheduleId('us-east-1', 'gpu')).describe();
    places.push(['reaper schedule', JSON.stringify(schedule)]);

    // The scan must see what it scans for: the logs are at debug level, the workers ran, the histories hold payloads.
    expect(fleet.spawned.length).toBe(1);
    expect(control.log.length).toBeGreaterThan(1000);
    expect(places.some(([, t]) => t.includes('CD4ML_TEST_GITLAB_TOKEN'))).toBe(true);
    expect(places.some(([, t]) => t.includes(moto.endpoint))).toBe(true);

    expect(placesWithSecrets(places, [TOKEN, MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY, MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID])).toEqual([]);
    console.log(`scanned ${places.length} places, ${places.reduce((n, [, t]) => n + t.length, 0)} characters`);
  });
});
