import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateTagsCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand,
  TerminateInstancesCommand, type Instance,
} from '@aws-sdk/client-ec2';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import {
  CONTROL_TASK_QUEUE, FailureType, LeaseQuery, legacyReaperScheduleId, locationWorkflowId, reaperScheduleId, type LeaseState,
} from '@cd4ml/contracts';
import type { ReapInput, ReapReport } from '@cd4ml/activities';
import { Stack } from '../harness/stack.ts';
import { REPO_ROOT } from '../harness/paths.ts';
import { Moto } from '../harness/moto.ts';
import { Ec2Faults } from '../harness/ec2-faults.ts';
import { SimulatedFleet } from '../harness/ec2-fleet.ts';
import { activityRuns, runsOf, slowTrainStage, waitForDvcStage, waitUntil } from '../harness/training-probes.ts';

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

const tagOf = (inst: Instance | undefined, key: string) => inst?.Tags?.find((t) => t.Key === key)?.Value;

/**
 * Issue 17, items 6, 7 and 9: the reaper never stops a person's instance in use, there
 * is one reaper per region and location, and a machine that vanishes mid-training ends
 * the training with MachineLost. The reaper runs through its real schedule (every 3 s
 * here, CD4ML_REAPER_EVERY), never by starting its workflow by hand.
 */
describe('EC2 reaper and lost machines (moto, real Temporal schedules, dvc, git)', () => {
  let stack: Stack;
  let moto: Moto;
  let faults: Ec2Faults;
  let fleet: SimulatedFleet;
  let ec2: EC2Client;
  /** EC2 as cd4ml sees it (through the fault proxy): what a person does at the console goes this way too. */
  let viaProxy: EC2Client;
  let desk: string;
  let config: (twinRegion: string) => string;
  const previousEvery = process.env.CD4ML_REAPER_EVERY;

  const describeOne = async (client: EC2Client, id: string) =>
    (await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0];

  /** Reports of scheduled reaper runs of one schedule that started after `since`. */
  async function scheduledReports(scheduleId: string, since: number): Promise<ReapReport[]> {
    const reports: ReapReport[] = [];
    const query = `WorkflowType = 'reapMachines' AND ExecutionStatus = 'Completed' AND WorkflowId STARTS_WITH '${scheduleId}-' AND StartTime > '${new Date(since).toISOString()}'`;
    for await (const w of stack.client.workflow.list({ query })) {
      if (!w.workflowId.startsWith(`${scheduleId}-`) || w.startTime.getTime() < since) continue;
      reports.push(await stack.client.workflow.getHandle(w.workflowId, w.runId).result() as ReapReport);
    }
    return reports;
  }

  beforeAll(async () => {
    process.env.CD4ML_REAPER_EVERY = '3s';
    moto = await Moto.start();
    Object.assign(process.env, moto.env());
    faults = await Ec2Faults.start(moto.endpoint);
    // As AWS: every start sets LaunchTime (moto keeps the first launch's). The reaper judges "started by cd4ml" from it.
    faults.trackLaunchTimes();
    ec2 = new EC2Client(moto.clientConfig());
    viaProxy = new EC2Client({ ...moto.clientConfig(), endpoint: faults.endpoint });
    await moto.createLaunchTemplate();
    const ami = await moto.amiId();
    const own = await ec2.send(new RunInstancesCommand({ ImageId: ami, InstanceType: 'g4dn.2xlarge', MinCount: 1, MaxCount: 1 }));
    desk = own.Instances![0]!.InstanceId!;
    await ec2.send(new StopInstancesCommand({ InstanceIds: [desk] }));

    stack = await Stack.start();
    await stack.example.create();
    const original = await readFile(path.join(stack.example.workDir, 'cd4ml.yaml'), 'utf8');
    const common = `provider: ec2, endpoint: "${faults.endpoint}"`;
    config = (twinRegion) => original.replace(/locations:[\s\S]*$/, [
      'locations:',
      `  gpu: {${common}, region: us-east-1, launchTemplate: cd4ml-gpu, workerStartTimeout: 60s}`,
      `  desk: {${common}, region: us-east-1, instanceId: ${desk}, reaperGrace: 1s}`,
      // An instance id nobody has: the start fails (ConfigInvalid), after it has set up the reaper.
      `  twin: {${common}, region: ${twinRegion}, instanceId: i-0123456789abcdef0, reaperGrace: 1s}`,
      '',
    ].join('\n'));
    await stack.example.writeFile('cd4ml.yaml', config('us-east-1'), 'cd4ml: ec2 locations');
    fleet = new SimulatedFleet(stack, moto.endpoint).start();
    await stack.startControlWorker();
  }, 180_000);

  afterAll(async () => {
    await fleet?.stop();
    await stack?.stop();
    await faults?.stop();
    await moto?.stop();
    ec2?.destroy();
    viaProxy?.destroy();
    if (previousEvery === undefined) delete process.env.CD4ML_REAPER_EVERY;
    else process.env.CD4ML_REAPER_EVERY = previousEvery;
  });

  it('an instance terminated from outside mid-repro: MachineLost within a minute, cleanup ran, the location is free', async () => {
    faults.clear();
    await slowTrainStage(stack.example, 120);
    const handle = await stack.startTraining({ releaseTag: 'lost1', location: 'gpu' });
    await waitForDvcStage(handle, 'train');
    const [inst] = (await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/lost1');
    expect(inst?.state).toBe('running');

    const killedAt = Date.now();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst!.instanceId] }));
    const failure = await failureOf(handle);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.type).toBe(FailureType.MachineLost);
    expect(failure.message).toContain(inst!.instanceId);
    expect(failure.message).toMatch(/is (terminated|shutting-down)/);

    // The cleanup and the lease ran as usual; nothing was released.
    const runs = await activityRuns(handle);
    expect(runsOf(runs, 'watchMachine').map((r) => r.outcome)).toEqual(['failed']);
    expect(runsOf(runs, 'stopMachine').map((r) => r.outcome)).toEqual(['completed']);
    await waitUntil('the location free again', async () =>
      (await stack.client.workflow.getHandle(locationWorkflowId('gpu')).query<LeaseState>(LeaseQuery.state)).holder === null, 10_000);
    expect(stack.released('lost1')).toBe(false);
    // At the peer: exactly one launch for the training, and that instance is gone.
    expect(faults.runInstancesCalls()).toHaveLength(1);
    expect((await fleet.instances()).filter((i) => i.workflowId === 'train/penguins/lost1').map((i) => i.state)).toEqual(['terminated']);
    expect(await fleet.running()).toEqual([]);
    // CD4ML_RECORD_HISTORIES=1: keep this run for test/unit/replay.test.ts (the watch is patched()).
    if (process.env.CD4ML_RECORD_HISTORIES) {
      await writeFile(path.join(REPO_ROOT, 'test/fixtures/histories/train-model-machine-lost.json'), historyToJSON(await handle.fetchHistory()) + '\n');
    }
    await slowTrainStage(stack.example, 0);
  }, 300_000);

  it('the reaper leaves a person\'s instance started by hand after its training alone', async () => {
    await slowTrainStage(stack.example, 0);
    const result = await stack.train({ releaseTag: 'd1', location: 'desk' });
    expect(result.decision).toBe('accepted');
    let inst = await describeOne(ec2, desk);
    expect(inst?.State?.Name).toBe('stopped');
    // Handed back: no training named any more; who had it last is kept.
    expect(tagOf(inst, 'cd4ml:workflow-id')).toBeUndefined();
    expect(tagOf(inst, 'cd4ml:last-workflow-id')).toBe('train/penguins/d1');

    await ec2.send(new StartInstancesCommand({ InstanceIds: [desk] }));
    const startedByHand = Date.now();
    const scheduleId = reaperScheduleId('us-east-1', 'desk');
    // Three scheduled runs after the start by hand, each of which saw the instance and kept it.
    const reports = await waitUntil('three scheduled reaper runs', async () => {
      const r = (await scheduledReports(scheduleId, startedByHand + 500)).filter((x) => x.kept.some((k) => k.instanceId === desk));
      return r.length >= 3 ? r : undefined;
    }, 60_000);
    for (const r of reports) {
      expect(r.reaped).toEqual([]);
      expect(r.kept).toContainEqual(expect.objectContaining({ instanceId: desk, workflowId: null }));
    }
    inst = await describeOne(ec2, desk);
    expect(inst?.State?.Name).toBe('running');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [desk] }));
    await waitUntil('the desk stopped', async () => (await describeOne(ec2, desk))?.State?.Name === 'stopped', 30_000);
  }, 300_000);

  it('a person\'s instance that still names its ended training, started by hand after it, is left alone (judged from LaunchTime)', async () => {
    // As an instance tagged before hand-backs existed (or whose hand-back failed) would be: it names train/penguins/d1, which ended.
    const ended = (await stack.client.workflow.getHandle('train/penguins/d1').describe()).closeTime!.getTime();
    await ec2.send(new CreateTagsCommand({ Resources: [desk], Tags: [{ Key: 'cd4ml:workflow-id', Value: 'train/penguins/d1' }] }));
    expect((await describeOne(ec2, desk))?.State?.Name).toBe('stopped');
    await viaProxy.send(new StartInstancesCommand({ InstanceIds: [desk] }));
    const startedByHand = Date.now();
    const launchTime = (await describeOne(viaProxy, desk))?.LaunchTime?.getTime();
    expect(launchTime).toBeGreaterThan(ended);
    const scheduleId = reaperScheduleId('us-east-1', 'desk');
    const reports = await waitUntil('three scheduled reaper runs that saw the desk', async () => {
      const r = (await scheduledReports(scheduleId, startedByHand + 500)).filter((x) => x.checked > 0);
      return r.length >= 3 ? r : undefined;
    }, 60_000);
    for (const r of reports) {
      expect(r.reaped).toEqual([]);
      const kept = r.kept.find((k) => k.instanceId === desk);
      expect(kept).toMatchObject({ workflowId: 'train/penguins/d1' });
      expect(kept!.reason).toMatch(/^started .*, after cd4ml's start for train\/penguins\/d1: not cd4ml's$/);
    }
    expect((await describeOne(ec2, desk))?.State?.Name).toBe('running');
    await ec2.send(new StopInstancesCommand({ InstanceIds: [desk] }));
    await waitUntil('the desk stopped', async () => (await describeOne(ec2, desk))?.State?.Name === 'stopped', 30_000);
  }, 300_000);

  it('the scheduled reaper stops a person\'s instance whose training was terminated without cleanup', async () => {
    await slowTrainStage(stack.example, 120);
    const handle = await stack.startTraining({ releaseTag: 'd2', location: 'desk' });
    await waitForDvcStage(handle, 'train');
    const tagged = await describeOne(viaProxy, desk);
    expect(tagOf(tagged, 'cd4ml:workflow-id')).toBe('train/penguins/d2');
    // cd4ml's own start set LaunchTime (as on AWS), right after it tagged the instance.
    expect(tagged!.LaunchTime!.getTime()).toBeGreaterThanOrEqual(Date.parse(tagOf(tagged, 'cd4ml:started-at')!));
    const before = Date.now();
    await handle.terminate('test: killed without cleanup');
    await waitUntil('the reaper stopped the desk', async () =>
      ['stopping', 'stopped'].includes((await describeOne(ec2, desk))?.State?.Name ?? ''), 60_000);
    // The run that stopped it completes (and becomes visible) a moment later.
    const reaped = await waitUntil('the scheduled run that stopped it', async () => {
      const r = (await scheduledReports(reaperScheduleId('us-east-1', 'desk'), before)).flatMap((x) => x.reaped);
      return r.length ? r : undefined;
    }, 30_000);
    expect(reaped).toEqual([expect.objectContaining({ instanceId: desk, workflowId: 'train/penguins/d2', action: 'stopped' })]);
    expect(reaped[0]!.reason).toMatch(/training train\/penguins\/d2 ended/);
    // Stopped by the reaper, then handed back like after any training.
    const inst = await describeOne(ec2, desk);
    expect(tagOf(inst, 'cd4ml:workflow-id')).toBeUndefined();
    expect(tagOf(inst, 'cd4ml:last-workflow-id')).toBe('train/penguins/d2');
    await slowTrainStage(stack.example, 0);
  }, 300_000);

  it('same-named locations in two regions each get their reaper; a legacy schedule of the region is retired', async () => {
    // A schedule under the old id (reaper/<location>) that watched eu-west-1.
    const legacyInput: ReapInput = { location: 'twin', region: 'eu-west-1', endpoint: faults.endpoint, grace: '1s' };
    await stack.client.schedule.create({
      scheduleId: legacyReaperScheduleId('twin'), spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: 'reapMachines', taskQueue: CONTROL_TASK_QUEUE, args: [legacyInput] },
    });
    const exists = (id: string) => stack.client.schedule.getHandle(id).describe().then(() => true, () => false);
    const argsOf = async (id: string) => {
      const d = await stack.client.schedule.getHandle(id).describe();
      return d.action.type === 'startWorkflow' ? d.action.args?.[0] : undefined;
    };

    expect((await failureOf(await stack.startTraining({ releaseTag: 't1', location: 'twin' }))).type).toBe(FailureType.ConfigInvalid);
    expect(await argsOf(reaperScheduleId('us-east-1', 'twin'))).toEqual({ location: 'twin', region: 'us-east-1', endpoint: faults.endpoint, grace: '1s' });
    // Another region's legacy schedule stays until that region's next start.
    expect(await exists(legacyReaperScheduleId('twin'))).toBe(true);

    await stack.example.writeFile('cd4ml.yaml', config('eu-west-1'), 'cd4ml: twin in eu-west-1');
    expect((await failureOf(await stack.startTraining({ releaseTag: 't2', location: 'twin' }))).type).toBe(FailureType.ConfigInvalid);
    expect(await argsOf(reaperScheduleId('eu-west-1', 'twin'))).toEqual({ location: 'twin', region: 'eu-west-1', endpoint: faults.endpoint, grace: '1s' });
    expect(await exists(reaperScheduleId('us-east-1', 'twin'))).toBe(true);
    expect(await exists(legacyReaperScheduleId('twin'))).toBe(false);

    // Each region's orphan is found by that region's reaper, at moto.
    const orphans: [EC2Client, string][] = [];
    for (const region of ['us-east-1', 'eu-west-1']) {
      const client = new EC2Client({ ...moto.clientConfig(), region });
      const ami = (await client.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
      const out = await client.send(new RunInstancesCommand({
        ImageId: ami, InstanceType: 'g4dn.xlarge', MinCount: 1, MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [
          { Key: 'cd4ml:managed', Value: 'true' }, { Key: 'cd4ml:location', Value: 'twin' },
          { Key: 'cd4ml:workflow-id', Value: `train/other/ghost-${region}` }, { Key: 'cd4ml:lifecycle', Value: 'launch-terminate' },
        ] }],
      }));
      orphans.push([client, out.Instances![0]!.InstanceId!]);
    }
    for (const [client, id] of orphans) {
      await waitUntil(`orphan ${id} terminated`, async () => (await describeOne(client, id))?.State?.Name === 'terminated', 60_000);
      client.destroy();
    }
    await stack.example.writeFile('cd4ml.yaml', config('us-east-1'), 'cd4ml: twin back in us-east-1');
  }, 300_000);

  it('the scheduled reaper follows NextToken: one run switches off orphans on every page', async () => {
    faults.clear();
    faults.paginate(1);
    const ami = await moto.amiId();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await ec2.send(new RunInstancesCommand({
        ImageId: ami, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [
          { Key: 'cd4ml:managed', Value: 'true' }, { Key: 'cd4ml:workflow-id', Value: `train/other/page-${i}` },
          { Key: 'cd4ml:lifecycle', Value: 'launch-terminate' },
        ] }],
      }))).Instances![0]!.InstanceId!);
    }
    // All three become the location's in one call: the next run sees them together, one reservation per page.
    const since = Date.now();
    await ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: 'cd4ml:location', Value: 'twin' }] }));
    for (const id of ids) await waitUntil(`orphan ${id} terminated`, async () => (await describeOne(ec2, id))?.State?.Name === 'terminated', 60_000);
    // The run that did it completes (and becomes visible) a moment later; it may have started just before the tags.
    const all = [...ids].sort().join(' ');
    const runs = await waitUntil('the scheduled run that switched them off', async () => {
      const r = (await scheduledReports(reaperScheduleId('us-east-1', 'twin'), since - 10_000)).map((x) => x.reaped.map((y) => y.instanceId).sort().join(' '));
      return r.some((x) => x.includes(ids[0]!)) ? r : undefined;
    }, 30_000);
    expect(runs).toContain(all);
    expect(faults.pagedCalls()).toBeGreaterThanOrEqual(2);
    faults.paginate(undefined);
  }, 180_000);
});
