// Statistics of the gate's paired comparison: the seeded paired bootstrap of a
// metric's difference between candidate and baseline, and McNemar's exact test.
export {
  bootstrapMetric, pairedBootstrap, pairedBootstrapAll, type BootstrapOptions, type PairedInterval, type StatisticsPair,
} from './bootstrap.ts';
export { differenceKernel, type DifferenceKernel } from './paired-difference.ts';
export { binomialTwoSidedHalf, mcnemarExact, type McNemarResult } from './mcnemar.ts';
export { sortedQuantile } from './percentile.ts';
export { drawCounts, sumOverDraws } from './resample-counts.ts';
export { MAX_INDEX_RANGE, Xoshiro128 } from './xoshiro128.ts';
