import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { WorkerDeploymentOptions } from '@temporalio/worker';

/**
 * Worker Deployments, which Temporal documents as the current way to version workers
 * (https://docs.temporal.io/worker-deployments; the older build-id sets are deprecated).
 * Each control worker polls as version `<deployment>.<build id>`; trainings are PINNED to
 * the version that started them, so a new control worker takes new trainings while the
 * old one finishes its own, and a workflow change needs no patch for runs already going.
 */
export interface DeploymentSettings {
  deploymentName: string;
  buildId: string;
  /** Make this version the deployment's current one once it polls (a rollout); off to do it by hand. */
  makeCurrent: boolean;
}

export const DEFAULT_DEPLOYMENT = 'cd4ml-control';

/** The build id that says when workflow code changed: a hash of the workflow bundle. */
export const bundleBuildId = (bundleCode: string): string => createHash('sha256').update(bundleCode).digest('hex').slice(0, 12);

export const deploymentOptions = (d: DeploymentSettings): WorkerDeploymentOptions => ({
  useWorkerVersioning: true,
  version: { deploymentName: d.deploymentName, buildId: d.buildId },
  // Trainings run for hours on one version; the location lease, which outlives versions, says AUTO_UPGRADE itself.
  defaultVersioningBehavior: 'PINNED',
});

type VersionSummary = NonNullable<NonNullable<Awaited<ReturnType<Client['workflowService']['describeWorkerDeployment']>>['workerDeploymentInfo']>['versionSummaries']>[number];

/** DRAINING (4) or DRAINED (5), or deactivated once: it was current and a newer build took over. */
const wasReplaced = (v: VersionSummary): boolean => (v.status ?? 0) >= 4 || v.lastDeactivationTime != null;

/**
 * Sets `d`'s version current as soon as the server knows it (the worker's first poll
 * registers it), unless a rollout has already replaced it. Runs beside the worker until
 * done or `signal` aborts.
 */
export async function makeCurrentWhenPolling(
  client: Client, namespace: string, d: DeploymentSettings, identity: string, log: (msg: string) => void, signal: AbortSignal,
): Promise<void> {
  const service = client.workflowService;
  const version = { deploymentName: d.deploymentName, buildId: d.buildId };
  while (!signal.aborted) {
    try {
      const { workerDeploymentInfo: info } = await service.describeWorkerDeployment({ namespace, deploymentName: d.deploymentName });
      const current = info?.routingConfig?.currentDeploymentVersion?.buildId;
      if (current === d.buildId) return;
      const mine = info?.versionSummaries?.find((v) => v.deploymentVersion?.buildId === d.buildId);
      if (mine && wasReplaced(mine)) {
        // A restart of a version that a rollout replaced must not undo the rollout.
        log(`deployment ${d.deploymentName}: build ${d.buildId} was replaced by ${current ?? 'another build'}; it finishes its own trainings and takes no new ones ` +
          `(to roll back: temporal worker deployment set-current-version --deployment-name ${d.deploymentName} --build-id ${d.buildId})`);
        return;
      }
      if (mine) {
        await service.setWorkerDeploymentCurrentVersion({ namespace, deploymentName: d.deploymentName, buildId: d.buildId, identity });
        log(`deployment ${d.deploymentName}: build ${d.buildId} is now current${current ? ` (was ${current}; its trainings finish on it)` : ''}`);
        return;
      }
    } catch (err) {
      // NOT_FOUND until the first poll creates the deployment; a conflicting concurrent change is retried.
      if (signal.aborted) return;
      const code = (err as { code?: number }).code;
      if (code !== 5 && code !== 9 && code !== 10) log(`deployment ${d.deploymentName}: could not make ${version.buildId} current yet (${(err as Error).message.split('\n')[0]}); retrying`);
    }
    await sleep(250, undefined, { signal }).catch(() => undefined);
  }
}
