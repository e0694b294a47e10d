import { NativeConnection, Worker } from '@temporalio/worker';
import { locationTaskQueue, type TemporalSettings } from '@cd4ml/contracts';
import { createLocationActivities } from '@cd4ml/activities';

export interface LocationWorkerOptions {
  temporal: TemporalSettings;
  location: string;
  /** Default cd4ml-location-<location>; a launched instance polls one of its own. */
  taskQueue?: string;
  /** Persistent checkouts live here, one per project. */
  workdir: string;
  venv: string;
}

/**
 * The location worker: runs on the training machine and owns its persistent
 * checkout. One activity at a time: the location's lease already serialises
 * trainings, and two steps must never share a checkout.
 */
export async function createLocationWorker(opts: LocationWorkerOptions): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const { address, namespace, apiKey, tls } = opts.temporal;
  const connection = await NativeConnection.connect({ address, apiKey, tls: tls || undefined });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue ?? locationTaskQueue(opts.location),
    activities: createLocationActivities({ workdir: opts.workdir, venv: opts.venv }),
    maxConcurrentActivityTaskExecutions: 1,
    // Heartbeats carry the stage shown to people and bring cancellation: send them
    // within a second, not the SDK's default of up to 80% of the heartbeat timeout.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
  });
  return { worker, close: () => connection.close() };
}
