import type { Client } from '@temporalio/client';
import type { ImageRequestInput, NightlyRequestInput, TrainingRequestInput } from '@cd4ml/contracts';
import { resolveTraining } from './resolve/resolve-training.ts';
import { findNewData } from './resolve/find-new-data.ts';
import { requestLease, isWorkflowRunning } from './lease/lease.ts';
import { createComputeActivities } from './compute/index.ts';
import { evaluateCandidate } from './gate/evaluate-candidate.ts';
import { publishRelease, type PublishInput } from './release/publish.ts';
import { openStore } from '@cd4ml/stores';
import { ensureImage, type EnsureImageInput } from './image/ensure-image.ts';
import { resolveImage } from './image/resolve-image.ts';
import type { BuilderSettings } from './image/builders.ts';
import { publishReleasePage, type ReleasePageInput } from './release/gitlab/release-page.ts';
import { resolveSweep } from './sweep/resolve-sweep.ts';
import { removeTrialRefs, tagTrial } from './git/trial-refs.ts';
import type { SweepRequestInput } from '@cd4ml/contracts';

export interface ControlDeps {
  client: Client;
  /** Bare mirrors of project repositories, for reading cd4ml.yaml before anything starts. */
  mirrorsDir: string;
  /** Release store used when cd4ml.yaml names none. */
  defaultStore: string;
  /** Where a cloud machine's location worker connects to (filled into EC2 user data; no secrets). */
  userData?: { temporalAddress: string; temporalNamespace: string; cd4mlSource: string };
  /** Scratch space for image builds and the builders' storage. */
  imageDir: string;
  builders: BuilderSettings;
}

/** Activities run by the control worker: everything that does not need the training machine. */
export function createControlActivities(deps: ControlDeps) {
  return {
    resolveTraining: (request: TrainingRequestInput) => resolveTraining(deps, request),
    resolveImage: (request: ImageRequestInput) => resolveImage(deps, request),
    findNewData: (request: NightlyRequestInput) => findNewData(deps, request),
    ensureImage: (input: EnsureImageInput) => ensureImage(deps, input),
    requestLease: (input: { location: string; workflowId: string }) => requestLease(deps.client, input),
    isWorkflowRunning: (workflowId: string) => isWorkflowRunning(deps.client, workflowId),
    ...createComputeActivities({
      client: deps.client,
      userData: deps.userData ?? { temporalAddress: '', temporalNamespace: 'default', cd4mlSource: '' },
    }),
    evaluateCandidate,
    publishRelease: (input: PublishInput & { store: string }) => publishRelease(openStore(input.store), input),
    discardCandidate: (input: { store: string; key: string }) => openStore(input.store).removePrefix(input.key),
    publishReleasePage: (input: ReleasePageInput) => publishReleasePage(input),
    resolveSweep: (request: SweepRequestInput) => resolveSweep(deps, request),
    tagTrial: (input: Parameters<typeof tagTrial>[1]) => tagTrial(deps.mirrorsDir, input),
    removeTrialRefs: (input: Parameters<typeof removeTrialRefs>[1]) => removeTrialRefs(deps.mirrorsDir, input),
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
