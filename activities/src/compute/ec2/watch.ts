import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import type { Machine } from '../machine.ts';
import { ec2Client } from './client.ts';
import { describeInstance, stateOf } from './instances.ts';

/** How often the watch looks: a machine that goes is noticed within this, plus one step's cancel. */
export const WATCH_EVERY_MS = 10_000;
/** DescribeInstances may briefly not know an instance; "missing" counts only when seen this many times in a row. */
const MISSING_TIMES = 3;

/**
 * Watches a training's instance while its location steps run, and fails with
 * `MachineLost` once it is gone: terminated or shutting down, or stopping or
 * stopped (cd4ml stops it only after the watch has been cancelled, so that was
 * not cd4ml). Runs until cancelled otherwise; heartbeats every look, so a dead
 * control worker is noticed and the watch resumed elsewhere. A failed look
 * (throttling, an endpoint outage) is logged and the next one tried: only the
 * instance's own state ends the watch.
 */
export async function watchInstance(machine: Machine, everyMs = WATCH_EVERY_MS): Promise<void> {
  const instanceId = machine.instanceId;
  if (machine.provider !== 'ec2' || !instanceId) return;
  const ctx = Context.current();
  const ec2 = ec2Client({ region: machine.region, endpoint: machine.endpoint });
  let missing = 0;
  try {
    for (;;) {
      try {
        const inst = await describeInstance(ec2, instanceId);
        const state = stateOf(inst);
        ctx.heartbeat({ instanceId, state });
        missing = state === 'missing' ? missing + 1 : 0;
        const gone = ['terminated', 'shutting-down', 'stopping', 'stopped'].includes(state) || missing >= MISSING_TIMES;
        if (gone) {
          const code = inst?.StateReason?.Code ?? '';
          const said = inst?.StateReason?.Message ?? inst?.StateTransitionReason ?? '';
          const reason = (said.startsWith(code) ? said : [code, said].filter(Boolean).join(': ')) || 'no reason given';
          throw ApplicationFailure.create({
            message: `location "${machine.location}": instance ${instanceId} is ${state === 'missing' ? 'gone (not found)' : state} (${reason}) while the training ran; ` +
              'it was not cd4ml that switched it off. Its steps were stopped; retry the training',
            type: FailureType.MachineLost, nonRetryable: true, details: [{ instanceId, state, reason }],
          });
        }
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        log.warn('could not look at the training\'s instance; trying again', { instanceId, error: String(err) });
        ctx.heartbeat({ instanceId, state: 'unknown' });
      }
      await ctx.sleep(everyMs); // rejects with CancelledFailure once the steps are done
    }
  } finally {
    ec2.destroy();
  }
}
