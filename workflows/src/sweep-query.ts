import { defineQuery } from '@temporalio/workflow';
import type { SweepStatus } from '@cd4ml/contracts/sweep';

/** The sweep's table: every trial's setting, state, metric, cost and machine. */
export const sweepStatusQuery = defineQuery<SweepStatus>('sweepStatus');
