import path from 'node:path';
import type { OutputsConfig, CandidateRef, Check, CheckoutDone, CustomCheckConfig, SweepSetting } from '@cd4ml/contracts';
import { checkoutCommit } from './git/checkout.ts';
import { tagRelease } from './git/tag-release.ts';
import { commitTrial } from './git/trial-refs.ts';
import { setParams } from './dvc/set-params.ts';
import { pullData, pushArtifacts } from './dvc/sync.ts';
import { reproPipeline, venvRepro } from './dvc/repro.ts';
import { reproInImage } from './dvc/repro-in-image.ts';
import type { TrainingImage } from './image/container-run.ts';
import { dataHashes } from './dvc/lock.ts';
import { dvcEnv } from './dvc/dvc.ts';
import { runCustomChecks } from './gate/custom-checks.ts';
import { ReproInterrupted } from './dvc/repro.ts';
import { REPRO_GRACE_MS, restoreForResume, resumeRepro, type CheckpointPlace } from './dvc/resume-state.ts';
import { afterInterruptedRepro, guardedBySpotWatch, spotInterrupted, type SpotWatch } from './location-spot.ts';
import { stageCandidate } from './release/stage-candidate.ts';
import { stageLogOfThisRun } from './logs/run-log.ts';

export interface LocationDeps {
  /** Persistent checkouts live in <workdir>/<project>. */
  workdir: string;
  /** Python venv with dvc and the project's libraries. */
  venv: string;
  /** This worker's own queue, where the steps after a checkout must go. */
  checkoutQueue: string;
  /** This worker's identity, for the history and the Web UI. */
  worker: string;
  /** On a spot instance: EC2's interruption notice (see SpotWatcher). */
  spot?: SpotWatch;
}

/** What every location activity needs to find its checkout. */
export interface CheckoutRef {
  project: string;
  /** Folder of the DVC project inside the repository ('.' for the root). */
  projectDir: string;
}

/** Activities run by the location worker, on the training machine, against its persistent checkout. */
export function createLocationActivities(deps: LocationDeps) {
  const repoDir = (ref: CheckoutRef) => path.join(deps.workdir, ref.project);
  const projectDir = (ref: CheckoutRef) => path.join(repoDir(ref), ref.projectDir);
  const env = { venv: deps.venv };

  return guardedBySpotWatch({
    /** The first step of a training on this location: answers where the training's later steps must go. */
    async checkout(input: CheckoutRef & { repoUrl: string; commit: string }): Promise<CheckoutDone> {
      await checkoutCommit(repoDir(input), input.repoUrl, input.commit);
      return { checkoutQueue: deps.checkoutQueue, worker: deps.worker };
    },

    /** `resume`: on the replacement of a reclaimed machine, also the run-cache and the checkpoint it saved. */
    async dvcPull(input: CheckoutRef & { resume?: { checkpoint?: CheckpointPlace } }): Promise<{ dvcFiles: string[]; checkpointRestored?: boolean }> {
      const pulled = await pullData(env, projectDir(input));
      if (!input.resume) return pulled;
      const restored = await restoreForResume(projectDir(input), input.resume.checkpoint);
      return { ...pulled, checkpointRestored: restored.checkpoint };
    },

    /**
     * In the training image when the workflow passes one, with the venv's dvc otherwise. With `logStore`
     * its output is kept there per run while it runs (`cd4ml logs`). On a spot instance, a notice stops
     * it gracefully and saves what a replacement resumes from (`checkpoint`: repro.checkpoint).
     */
    async dvcRepro(
      input: CheckoutRef & { timeoutMs: number; image?: TrainingImage; logStore?: string; checkpoint?: CheckpointPlace; resume?: boolean },
    ): Promise<{ ran: string[]; skipped: string[] }> {
      const dir = projectDir(input);
      const base = input.image ? await reproInImage(input.image, repoDir(input), dir) : venvRepro(env);
      // On a replacement: finished stages come from the run-cache the reclaimed machine pushed.
      const command = input.resume ? resumeRepro(base) : base;
      const { spot } = deps;
      if (spot?.notice) throw spotInterrupted({ notice: spot.notice, finishedStages: [] }, 'dvc repro not started');
      const log = input.logStore ? stageLogOfThisRun(input.logStore, 'dvc-repro') : undefined;
      const interrupt = spot ? { signal: spot.signal, graceMs: REPRO_GRACE_MS } : undefined;
      try {
        return await reproPipeline(command, dir, input.timeoutMs, { log, interrupt });
      } catch (err) {
        if (err instanceof ReproInterrupted && spot?.notice) return afterInterruptedRepro(err, spot.notice, env, dir, input.checkpoint);
        throw err;
      }
    },

    /** The project's own gate checks (gate.checks), in the checkout after dvc repro; failures are failed checks. */
    async customChecks(input: CheckoutRef & { checks: CustomCheckConfig[]; image?: TrainingImage }): Promise<Check[]> {
      return runCustomChecks({ checks: input.checks, dir: projectDir(input), checkout: repoDir(input), env: dvcEnv(env), image: input.image });
    },

    async stageCandidate(
      input: CheckoutRef & { store: string; tag: string; outputs: OutputsConfig; dvcFiles: string[] },
    ): Promise<CandidateRef> {
      const dir = projectDir(input);
      return stageCandidate(dir, { ...input, data: await dataHashes(dir, input.dvcFiles) });
    },

    async dvcPush(input: CheckoutRef): Promise<void> {
      return pushArtifacts(env, projectDir(input));
    },

    async tagRelease(input: CheckoutRef & { commit: string; tag: string; message: string }): Promise<{ tagCommit: string }> {
      const lockFile = path.posix.join(input.projectDir, 'dvc.lock');
      return tagRelease(repoDir(input), { ...input, lockFile });
    },

    /** A sweep trial's setting on top of params.yaml, before dvc repro (as dvc exp run --set-param). */
    async setParams(input: CheckoutRef & { params: SweepSetting }): Promise<{ params: string }> {
      return setParams(projectDir(input), input.params);
    },

    /** An accepted trial's params.yaml and dvc.lock to a git ref of its own; the sweep tags the best one. */
    async commitTrial(input: CheckoutRef & { commit: string; ref: string; message: string }): Promise<{ paramsCommit: string }> {
      const files = ['params.yaml', 'dvc.lock'].map((f) => path.posix.join(input.projectDir, f));
      return commitTrial(repoDir(input), { ...input, files });
    },
  }, deps.spot, ['dvcRepro']);
}

export type LocationActivities = ReturnType<typeof createLocationActivities>;
