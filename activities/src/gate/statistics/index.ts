// Statistics of the gate's paired comparison: the seeded paired bootstrap of a
// metric's difference between candidate and baseline (row draws, or category
// counts drawn as a multinomial where the metric allows), and McNemar's exact test.
export {
  bootstrapMetric, pairedBootstrap, pairedBootstrapAll, type BootstrapOptions, type Draws, type PairedInterval, type StatisticsPair,
} from './bootstrap.ts';
export { differenceKernel, type DifferenceKernel } from './paired-difference.ts';
export { confusionCategories, indicatorCategories, type CategoricalKernel } from './categorical-difference.ts';
export { BINOMIAL_COST_IN_ROWS, categoryDifferences, rowDifferences, type Resampled } from './resample-differences.ts';
export { binomialTwoSidedHalf, mcnemarExact, type McNemarResult } from './mcnemar.ts';
export { sortedQuantile } from './percentile.ts';
export { drawCounts, sumOverDraws, sumPairOverDraws } from './resample-counts.ts';
export { binomial } from './binomial.ts';
export { drawMultinomial, multinomialOf, type Multinomial } from './multinomial.ts';
export { MAX_INDEX_RANGE, Xoshiro128 } from './xoshiro128.ts';
