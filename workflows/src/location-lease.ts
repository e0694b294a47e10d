import {
  condition, continueAsNew, defineQuery, defineSignal, getExternalWorkflowHandle, proxyActivities,
  setHandler, setWorkflowOptions, workflowInfo, allHandlersFinished,
} from '@temporalio/workflow';
import type { ControlActivities } from '@cd4ml/activities';
import { LeaseQuery, LeaseSignal, type LeaseRequest, type LeaseState } from '@cd4ml/contracts/lease';

export const acquireSignal = defineSignal<[LeaseRequest]>(LeaseSignal.acquire);
export const releaseSignal = defineSignal<[LeaseRequest]>(LeaseSignal.release);
export const grantedSignal = defineSignal<[{ location: string }]>(LeaseSignal.granted);
export const leaseStateQuery = defineQuery<LeaseState>(LeaseQuery.state);

const { isWorkflowRunning } = proxyActivities<ControlActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumInterval: '30 seconds' },
});

/** How often a holder is checked for still being alive (a terminated run never releases). */
const HOLDER_CHECK = '1 minute';
/** A lease with nobody waiting ends after this; the next request starts it again. */
const IDLE = '10 minutes';

/**
 * The lease of one location (id `location/<location>`): grants it to one
 * training at a time, in the order they asked. A training in line waits; it
 * neither fails nor runs beside the holder.
 */
export async function locationLease(input: { location: string; waiting?: string[] }): Promise<void> {
  const waiting: string[] = [...(input.waiting ?? [])];
  let holder: string | null = null;

  setHandler(acquireSignal, ({ workflowId }) => {
    if (holder !== workflowId && !waiting.includes(workflowId)) waiting.push(workflowId);
  });
  setHandler(releaseSignal, ({ workflowId }) => {
    if (holder === workflowId) holder = null;
    const i = waiting.indexOf(workflowId);
    if (i >= 0) waiting.splice(i, 1);
  });
  setHandler(leaseStateQuery, () => ({ location: input.location, holder, waiting: [...waiting] }));

  for (;;) {
    if (!(await condition(() => waiting.length > 0, IDLE))) break;
    const next = waiting.shift()!;
    holder = next; // before the grant: the holder may release before the signal call returns
    try {
      await getExternalWorkflowHandle(next).signal(grantedSignal, { location: input.location });
    } catch {
      holder = null; // the requester is gone
      continue;
    }
    while (holder === next) {
      const released = await condition(() => holder !== next, HOLDER_CHECK);
      if (!released && !(await isWorkflowRunning(next))) holder = null;
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof locationLease>({ location: input.location, waiting });
    }
  }
  await condition(allHandlersFinished);
}

// Outlives any one control worker version (it serves every training of the location): it moves to
// the current version at its next task, so its changes need patched(); trainings stay PINNED.
setWorkflowOptions({ versioningBehavior: 'AUTO_UPGRADE' }, locationLease);
