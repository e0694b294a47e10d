import type { LocationConfig } from '@cd4ml/contracts';

export interface Machine {
  provider: string;
  location: string;
  instanceId: string | null;
  instanceType: string | null;
  /** epoch ms, when the machine started costing */
  startedAt: number;
}

export interface StopResult {
  stoppedAt: number;
  seconds: number;
  action: 'none' | 'stopped' | 'terminated';
}

/** Switches a location's machine on and off. Both calls are idempotent. */
export interface MachineProvider {
  start(input: { location: string; config: LocationConfig; workflowId: string }): Promise<Machine>;
  stop(machine: Machine): Promise<StopResult>;
}
