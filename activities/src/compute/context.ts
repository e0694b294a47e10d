import type { Client } from '@temporalio/client';

/** What the cloud providers need from the control worker. */
export interface ComputeContext {
  /** To see whether a location's worker polls, and to keep the reaper's schedule. */
  client: Client;
  /** Filled into the EC2 user-data script; no secrets. */
  userData: { temporalAddress: string; temporalNamespace: string; cd4mlSource: string };
}
