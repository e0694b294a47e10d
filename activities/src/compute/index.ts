import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, type LocationConfig } from '@cd4ml/contracts';
import { localMachine } from './local.ts';
import type { Machine, MachineProvider, StopResult } from './machine.ts';

export type { Machine, StopResult } from './machine.ts';

function provider(name: string): MachineProvider {
  if (name === 'local') return localMachine;
  throw ApplicationFailure.nonRetryable(
    `compute provider "${name}" is not available in this version; use "local"`,
    FailureType.ConfigInvalid,
  );
}

export function startMachine(input: { location: string; config: LocationConfig; workflowId: string }): Promise<Machine> {
  return provider(input.config.provider).start(input);
}

export function stopMachine(machine: Machine): Promise<StopResult> {
  return provider(machine.provider).stop(machine);
}
