import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { checkoutTaskQueue, locationTaskQueue, workerAdminTaskQueue, type LocationWorkerInfo } from '@cd4ml/contracts';

export interface LocationWorkerIdentity extends Omit<LocationWorkerInfo, 'retiring'> {
  adminQueue: string;
}

/**
 * Who this location worker is, and its queues. The checkout queue is keyed by host
 * and checkout folder, not by process: a worker restarted on the same disk serves
 * the same queue, so a training waiting on its steps carries on against the same
 * checkout. CD4ML_WORKER_HOST overrides the host name (an EC2 instance id reads
 * better in the Web UI than ip-10-0-0-12).
 */
export function locationWorkerIdentity(opts: { location: string; taskQueue?: string; workdir: string }): LocationWorkerIdentity {
  const host = process.env.CD4ML_WORKER_HOST || os.hostname();
  const workdir = path.resolve(opts.workdir);
  const queue = opts.taskQueue ?? locationTaskQueue(opts.location);
  const key = createHash('sha256').update(`${host}\0${workdir}`).digest('hex').slice(0, 12);
  return {
    identity: `${process.pid}@${host}:${workdir}`,
    host,
    pid: process.pid,
    workdir,
    queue,
    checkoutQueue: checkoutTaskQueue(queue, key),
    adminQueue: workerAdminTaskQueue(queue),
    startedAt: new Date().toISOString(),
  };
}
