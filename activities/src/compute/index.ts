import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import type { ComputeContext } from './context.ts';
import { ec2Provider } from './ec2/provider.ts';
import { reapMachines, type ReapInput } from './ec2/reaper.ts';
import { watchInstance } from './ec2/watch.ts';
import { localMachine } from './local.ts';
import type { Machine, MachineProvider, StartInput, StopResult } from './machine.ts';

export type { Machine, StopResult, StartInput } from './machine.ts';
export type { ComputeContext } from './context.ts';
export type { ReapInput, ReapReport } from './ec2/reaper.ts';

/** startMachine / stopMachine for every provider a location can name. */
export function createComputeActivities(ctx: ComputeContext) {
  const providers: Record<string, MachineProvider> = { local: localMachine, ec2: ec2Provider(ctx) };
  const provider = (name: string): MachineProvider => {
    const p = providers[name];
    if (!p) throw ApplicationFailure.nonRetryable(`compute provider "${name}" is unknown; use one of: ${Object.keys(providers).join(', ')}`, FailureType.ConfigInvalid);
    return p;
  };
  return {
    startMachine: (input: StartInput): Promise<Machine> => provider(input.config.provider).start(input),
    stopMachine: (machine: Machine): Promise<StopResult> => provider(machine.provider).stop(machine),
    /** Cleanup when startMachine never returned a machine: stops whatever it switched on. */
    stopUnstartedMachine: (input: StartInput): Promise<StopResult> => {
      const p = provider(input.config.provider);
      return p.stop(p.recordFor(input));
    },
    /**
     * Beside a training's location steps: fails with MachineLost once the machine cd4ml
     * switched on is gone; runs until cancelled otherwise. Nothing to watch for local.
     */
    watchMachine: (machine: Machine): Promise<void> => watchInstance(machine),
    /** The reaper's one step: switch off this location's instances whose training is gone. */
    reapMachines: (input: ReapInput) => reapMachines(ctx.client, input),
  };
}
