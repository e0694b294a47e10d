import type { Client } from '@temporalio/client';
import type { UserDataValues } from './ec2/user-data.ts';

/** What the cloud providers need from the control worker. */
export interface ComputeContext {
  /** To see whether a location's worker polls, and to keep the reaper's schedule. */
  client: Client;
  /** Filled into the EC2 user-data script; no secrets (see instanceTemporalValues). */
  userData: Omit<UserDataValues, 'location' | 'perInstanceQueue'>;
}
