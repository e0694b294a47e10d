import { NativeConnection, Worker } from '@temporalio/worker';
import type { LocationAdminActivities, LocationWorkerInfo, TemporalSettings } from '@cd4ml/contracts';
import { createLocationActivities } from '@cd4ml/activities';
import { locationWorkerIdentity, type LocationWorkerIdentity } from './location-identity.ts';
import { fenceLocation } from './location-fence.ts';
import { connectTemporal } from './connect.ts';
import { StepTracker } from './step-tracker.ts';
import { SpotWatcher } from '@cd4ml/activities/compute/ec2/interruption';

export interface LocationWorkerOptions {
  temporal: TemporalSettings;
  location: string;
  /** Default cd4ml-location-<location>; a launched instance polls one of its own. */
  taskQueue?: string;
  /** Persistent checkouts live here, one per project. */
  workdir: string;
  venv: string;
  /** Take over from a live worker on the same queue instead of refusing to start. */
  replace?: boolean;
  log?: (msg: string) => void;
  /** The instance metadata service to watch for spot notices (imdsEndpoint()); none off EC2. */
  imdsEndpoint?: string;
}

export interface LocationWorker {
  identity: LocationWorkerIdentity;
  /** Resolves once every poller has stopped (shutdown, or replaced and done). */
  run(): Promise<void>;
  shutdown(): void;
  close(): Promise<void>;
}

// Heartbeats carry the stage shown to people and bring cancellation: send them
// within a second, not the SDK's default of up to 80% of the heartbeat timeout.
const heartbeats = { maxHeartbeatThrottleInterval: '1 second', defaultHeartbeatThrottleInterval: '1 second' } as const;

/**
 * The location worker: runs on the training machine and owns its persistent
 * checkout. It polls three queues: the location's (a training's checkout), its
 * own checkout queue (every later step of that training, so steps never split
 * across workers) and the admin queue (who are you; step aside). Before polling it
 * makes sure no other live worker serves the location (see fenceLocation).
 */
export async function createLocationWorker(opts: LocationWorkerOptions): Promise<LocationWorker> {
  const { namespace } = opts.temporal;
  const me = locationWorkerIdentity(opts);
  const log = opts.log ?? (() => undefined);
  const temporal = await connectTemporal(opts.temporal);
  const { client, close } = temporal;
  let connection: NativeConnection;
  try {
    await fenceLocation(client, me, { replace: opts.replace ?? false, log });
    connection = await temporal.native();
  } catch (err) {
    await close();
    throw err;
  }

  const steps = new StepTracker(client);
  const spot = opts.imdsEndpoint ? new SpotWatcher(opts.imdsEndpoint, { log }).start() : undefined;
  const activities = steps.wrap(createLocationActivities({
    workdir: opts.workdir, venv: opts.venv, checkoutQueue: me.checkoutQueue, worker: me.identity, ...(spot ? { spot } : {}),
  }));
  const base = { connection, namespace, identity: me.identity, activities, ...heartbeats };
  // One step at a time on each queue: the location's lease already serialises trainings.
  const shared = await Worker.create({ ...base, taskQueue: me.queue, maxConcurrentActivityTaskExecutions: 1 });
  const own = await Worker.create({ ...base, taskQueue: me.checkoutQueue, maxConcurrentActivityTaskExecutions: 1 });

  let retiring = false;
  const info = (): LocationWorkerInfo => ({ ...me, retiring });
  const adminActivities: LocationAdminActivities = {
    describeWorker: async () => info(),
    retireWorker: async ({ by }) => {
      if (!retiring) {
        retiring = true;
        log(`replaced by ${by}: taking no new training; stopping once the running training's steps are done`);
        shared.shutdown();
        // After answering: shutting the admin worker down waits for this very activity.
        setImmediate(() => admin.getState() === 'RUNNING' && admin.shutdown());
        void steps.whenDone().then(() => {
          log('the last training this worker served has ended: stopping');
          if (own.getState() === 'RUNNING') own.shutdown();
        });
      }
      return info();
    },
  };
  const admin = await Worker.create({
    connection, namespace, identity: me.identity, taskQueue: me.adminQueue, activities: adminActivities,
    maxConcurrentActivityTaskExecutions: 4, maxConcurrentActivityTaskPolls: 1,
  });

  const workers = [shared, own, admin];
  return {
    identity: me,
    run: async () => {
      const results = await Promise.allSettled(workers.map((w) => w.run()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown: () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown()),
    close: async () => {
      await spot?.stop();
      await close();
    },
  };
}
