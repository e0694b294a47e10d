export { createControlActivities, type ControlActivities, type ControlDeps } from './control.ts';
export { createLocationActivities, type LocationActivities, type LocationDeps, type CheckoutRef } from './location.ts';
export type { TrainingPlan } from './resolve/resolve-training.ts';
export type { Machine, StopResult, StartInput, ReapInput, ReapReport } from './compute/index.ts';
export type { Evaluation } from './gate/evaluate-candidate.ts';
export type { PublishInput } from './release/publish.ts';
export type { ReleasePage, ReleasePageInput } from './release/gitlab/release-page.ts';
export { openStore, DirectoryStore, type ReleaseStore } from './release/store.ts';
export { findBaseline, readManifest } from './release/baseline.ts';
