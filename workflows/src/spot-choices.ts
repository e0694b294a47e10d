import type { Ec2LocationConfig, LocationConfig } from '@cd4ml/contracts/config';
import type { Machine } from '@cd4ml/activities';

/** How many reclaims a training takes on spot before its replacements are on-demand (spot.maxInterruptions). */
export function maxInterruptions(cfg: LocationConfig): number {
  if (cfg.provider !== 'ec2') return 0;
  return typeof cfg.spot === 'object' ? cfg.spot.maxInterruptions : 2;
}

/** `list` starting after `current` (which goes last); as given when `current` is not in it. */
function after<T>(list: T[], current: T | null | undefined): T[] {
  const i = current == null ? -1 : list.indexOf(current);
  return i < 0 ? list : [...list.slice(i + 1), ...list.slice(0, i + 1)];
}

/**
 * The location's launch settings for the replacement of a reclaimed spot
 * instance: the instance types and subnets (zones) after the ones it ran on
 * first (that pool has just run short), spot again until `interruptions`
 * reaches spot.maxInterruptions, then on-demand only.
 */
export function replacementConfig(cfg: Ec2LocationConfig, reclaimed: Pick<Machine, 'instanceType' | 'subnetId'>, interruptions: number): Ec2LocationConfig {
  const onDemandOnly = interruptions >= maxInterruptions(cfg);
  return {
    ...cfg,
    instanceTypes: after(cfg.instanceTypes, reclaimed.instanceType),
    ...(cfg.subnetIds ? { subnetIds: after(cfg.subnetIds, reclaimed.subnetId) } : {}),
    spot: onDemandOnly ? false : cfg.spot,
  };
}
