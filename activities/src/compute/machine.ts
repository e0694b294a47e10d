import type { LocationConfig } from '@cd4ml/contracts';

/** A switched-on training machine, as recorded in workflow history (no secrets). */
export interface Machine {
  provider: string;
  location: string;
  instanceId: string | null;
  instanceType: string | null;
  /** epoch ms, when the machine started costing */
  startedAt: number;
  /** Where the training's location steps go (a launched instance polls a queue of its own). */
  taskQueue?: string;
  /** The training that switched it on (the instance's tag). */
  workflowId?: string;
  /** ec2: where the instance lives, so stop needs nothing but this record. */
  region?: string;
  endpoint?: string;
  /** ec2: a person's instance is stopped; a launched one is terminated. */
  lifecycle?: 'start-stop' | 'launch-terminate';
  /** ec2: for the cost estimate */
  hourlyPrice?: number;
  /** ec2, a launched instance: where and how it runs (a spot resume moves on to the next choice). */
  zone?: string;
  subnetId?: string;
  market?: 'spot' | 'on-demand';
}

export interface StopResult {
  stoppedAt: number;
  seconds: number;
  action: 'none' | 'stopped' | 'terminated';
  /** seconds x hourly price, when the location names a price */
  estimatedCost: number | null;
}

export interface StartInput {
  location: string;
  config: LocationConfig;
  workflowId: string;
  /** Launches of this training that ended before this start (a reclaimed spot instance): part of the client token. */
  launchesBefore?: number;
}

/** Switches a location's machine on and off. Both calls are idempotent. */
export interface MachineProvider {
  start(input: StartInput): Promise<Machine>;
  stop(machine: Machine): Promise<StopResult>;
  /** The record stop() needs when start() never returned one (it failed or was cut short). */
  recordFor(input: StartInput): Machine;
}
