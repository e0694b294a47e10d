import { z } from 'zod';

/**
 * What the instance metadata service said: `spot/instance-action` ({action, time}),
 * the two-minute notice before EC2 reclaims a spot instance.
 */
export interface SpotNotice {
  /** terminate, stop or hibernate */
  action: string;
  /** When EC2 will act, ISO 8601 (from the notice). */
  time: string;
  /** When the location worker saw it, epoch ms. */
  noticedAt: number;
}

/** What an interrupted location step pushed before it gave the machine up. */
export interface SpotInterruptionDetails {
  notice: SpotNotice;
  instanceId?: string;
  /** DVC stages that finished before the notice (their run-cache was pushed). */
  finishedStages: string[];
  /** The checkpoint folder's archive in the store, when one was saved. */
  checkpointKey?: string;
}

/** One machine a training ran on: a spot training that was interrupted has several. */
export const MachineAttempt = z.object({
  instanceId: z.string().nullable(),
  instanceType: z.string().nullable(),
  zone: z.string().nullable().optional(),
  market: z.enum(['spot', 'on-demand']).nullable().optional(),
  /** spot-interrupted, or how the training ended on it (accepted, rejected, failed, cancelled). */
  ended: z.string(),
  seconds: z.number(),
  estimatedCost: z.number().nullable(),
});
export type MachineAttempt = z.infer<typeof MachineAttempt>;

/** Store key of a training's checkpoint archive (one per training tag; a newer one replaces it). */
export const checkpointKey = (project: string, tag: string): string => `${project}/.checkpoints/${tag}.tar`;
