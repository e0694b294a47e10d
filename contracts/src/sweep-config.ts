import { z } from 'zod';

// cd4ml.yaml `sweeps.<name>`: a named sweep, started with `cd4ml sweep --sweep <name>`.

const paramKey = z.string().regex(/^\+?[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/, 'a dotted key of params.yaml such as train.C');

export const SweepConfig = z.object({
  /** Dotted params.yaml key -> the values to try; the sweep tries every combination. */
  grid: z.record(paramKey, z.array(z.unknown()).min(1, 'at least one value'))
    .refine((g) => Object.keys(g).length > 0, 'at least one key, e.g. grid: {train.C: [0.1, 1, 10]}'),
  /** Only `count` of the combinations, drawn by `seed` (the same seed draws the same ones). */
  random: z.object({ count: z.number().int().min(1), seed: z.number().int().default(0) }).strict().optional(),
  /** Trials at a time; the others wait their turn. */
  parallel: z.number().int().min(1).max(64).default(1),
  /** USD, from the locations' hourlyPrice: no trial starts that would pass it. */
  budget: z.number().positive().optional(),
  /** Where the trials run (default: the sweep's --location); several are used in turn. */
  locations: z.array(z.string().min(1)).min(1).optional(),
}).strict();
export type SweepConfig = z.infer<typeof SweepConfig>;
