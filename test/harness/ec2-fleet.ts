import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { locationTaskQueue } from '@cd4ml/contracts';
import type { RunningWorker, Stack } from './stack.ts';
import type { WorkerProcess } from './worker-process.ts';
import { MOTO_CREDENTIALS } from './moto.ts';
import { FakeImds } from '../fakes/imds.ts';

export interface InstanceEvent {
  instanceId: string;
  state: string;
  at: number;
}

/**
 * moto runs no user data, so this plays the part of the instances' boot: when
 * moto reports a cd4ml-tagged instance running, a location worker for its
 * location starts (as the user-data script's systemd unit would); when the
 * instance leaves `running`, its worker goes (the machine is off). A launched
 * instance gets a fresh checkout folder; a person's instance keeps its own.
 */
export class SimulatedFleet {
  private readonly ec2: EC2Client;
  private readonly workers = new Map<string, Promise<RunningWorker>>();
  private readonly lastState = new Map<string, string>();
  readonly events: InstanceEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  /** Locations whose instances run but never bring a worker up (a broken AMI). */
  readonly broken = new Set<string>();
  /** Every location worker this fleet ran as its own process (see `processes`), for reading their logs. */
  readonly spawned: WorkerProcess[] = [];
  /** With `withImds()`: each instance's own metadata service, which its location worker watches for spot notices. */
  readonly imds = new Map<string, FakeImds>();
  private servesImds = false;

  /**
   * `processEnv`: run each instance's worker as its own OS process with this
   * environment (what its instance role and user data would give it);
   * without it, workers run in this process.
   */
  constructor(private readonly stack: Stack, endpoint: string, region = 'us-east-1', private readonly processEnv?: Record<string, string>) {
    // moto's test credentials, whatever this process's environment holds.
    this.ec2 = new EC2Client({ region, endpoint, credentials: { accessKeyId: MOTO_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: MOTO_CREDENTIALS.AWS_SECRET_ACCESS_KEY } });
  }

  /** Gives every instance a metadata service of its own (a test interrupts one with `imds.get(id).interrupt()`). */
  withImds(): this {
    this.servesImds = true;
    return this;
  }

  start(everyMs = 250): this {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll()).catch((err: unknown) => console.error('fleet poll failed', err));
    }, everyMs);
    return this;
  }

  private async poll(): Promise<void> {
    const out = await this.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:cd4ml:managed', Values: ['true'] }] }));
    for (const inst of out.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
      const id = inst.InstanceId!;
      const state = inst.State?.Name ?? 'unknown';
      if (this.lastState.get(id) !== state) {
        this.lastState.set(id, state);
        this.events.push({ instanceId: id, state, at: Date.now() });
      }
      const location = inst.Tags?.find((t) => t.Key === 'cd4ml:location')?.Value;
      const launched = inst.Tags?.find((t) => t.Key === 'cd4ml:lifecycle')?.Value === 'launch-terminate';
      if (state === 'running' && location && !this.broken.has(location) && !this.workers.has(id)) {
        // As the user-data script does: a launched instance polls a queue of its own.
        const checkout = launched ? `${location}-${id}` : location;
        const taskQueue = launched ? locationTaskQueue(location, id) : undefined;
        this.workers.set(id, this.processEnv
          ? this.stack.spawnWorker('location', location, this.processEnv, { checkout, taskQueue }).then((p) => {
            this.spawned.push(p);
            return { stop: () => p.stop() };
          })
          : this.instanceImds(id).then((imds) => this.stack.startLocationWorker(location, checkout, taskQueue, imds?.endpoint)));
      } else if (state !== 'running' && this.workers.has(id)) {
        const worker = this.workers.get(id)!;
        this.workers.delete(id);
        await (await worker).stop();
      }
    }
  }

  private async instanceImds(instanceId: string): Promise<FakeImds | undefined> {
    if (!this.servesImds) return undefined;
    const imds = await FakeImds.start({ instanceId });
    this.imds.set(instanceId, imds);
    return imds;
  }

  /** Instances cd4ml tagged, with their current state. */
  async instances(): Promise<{ instanceId: string; state: string; workflowId?: string; type?: string; lifecycle?: string }[]> {
    const out = await this.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:cd4ml:managed', Values: ['true'] }] }));
    return (out.Reservations?.flatMap((r) => r.Instances ?? []) ?? []).map((i) => ({
      instanceId: i.InstanceId!, state: i.State?.Name ?? 'unknown', type: i.InstanceType, ...(i.InstanceLifecycle ? { lifecycle: i.InstanceLifecycle } : {}),
      workflowId: i.Tags?.find((t) => t.Key === 'cd4ml:workflow-id')?.Value,
    }));
  }

  /** Instances still costing money. */
  async running(): Promise<string[]> {
    return (await this.instances()).filter((i) => ['pending', 'running'].includes(i.state)).map((i) => i.instanceId);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    for (const w of this.workers.values()) await (await w).stop();
    this.workers.clear();
    for (const imds of this.imds.values()) await imds.stop();
    this.ec2.destroy();
  }
}
