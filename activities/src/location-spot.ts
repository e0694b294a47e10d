import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, type SpotInterruptionDetails, type SpotNotice } from '@cd4ml/contracts';
import { startHeartbeats } from './heartbeat.ts';
import type { DvcEnv } from './dvc/dvc.ts';
import { ReproInterrupted } from './dvc/repro.ts';
import { saveForResume, type CheckpointPlace } from './dvc/resume-state.ts';

/** What the location activities need of the spot watch (SpotWatcher): its notice, and a signal that aborts on it. */
export interface SpotWatch {
  readonly signal: AbortSignal;
  readonly notice: SpotNotice | undefined;
}

/** The training's step fails for good on this machine; the workflow resumes on a replacement. */
export function spotInterrupted(details: SpotInterruptionDetails, what: string): ApplicationFailure {
  const { notice } = details;
  return ApplicationFailure.create({
    message: `EC2 is reclaiming this spot instance (${notice.action} at ${notice.time}): ${what}; the training resumes on another machine`,
    type: FailureType.SpotInterrupted, nonRetryable: true, details: [details],
  });
}

/**
 * After `dvc repro` was stopped for a notice: saves the run-cache and the
 * checkpoint folder (heartbeating, so the workflow sees the machine is still
 * busy), then fails the step as SpotInterrupted saying what was saved.
 */
export async function afterInterruptedRepro(
  err: ReproInterrupted, notice: SpotNotice, env: DvcEnv, dir: string, checkpoint: CheckpointPlace | undefined,
): Promise<never> {
  const hb = startHeartbeats({ stage: 'dvc-repro', dvcStage: err.stoppedIn ?? '', line: 'spot interruption: saving run-cache and checkpoint' });
  try {
    const saved = await saveForResume(env, dir, checkpoint, (line) => hb.update({ line: line.slice(0, 200) }));
    const what = [
      `dvc repro stopped${err.stoppedIn ? ` in stage '${err.stoppedIn}'` : ''}`,
      saved.runCache ? `run-cache pushed (finished: ${err.finished.join(', ') || 'none'})` : 'run-cache NOT pushed',
      checkpoint ? (saved.checkpointKey ? `checkpoint ${checkpoint.path} saved` : `no checkpoint in ${checkpoint.path}`) : '',
      ...saved.problems,
    ].filter(Boolean).join('; ');
    throw spotInterrupted({ notice, finishedStages: err.finished, ...(saved.checkpointKey ? { checkpointKey: saved.checkpointKey } : {}) }, what);
  } finally {
    hb.stop();
  }
}

/**
 * Every other location step: refused once a notice has come, and failed as soon
 * as one comes while it runs (the machine has two minutes left; its work is redone
 * on the replacement). dvc repro handles the notice itself, see afterInterruptedRepro.
 */
export function guardedBySpotWatch<A extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: A, spot: SpotWatch | undefined, own: (keyof A)[],
): A {
  if (!spot) return activities;
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = own.includes(name) ? fn : async (...args: never[]) => {
      const interrupted = () => spotInterrupted({ notice: spot.notice!, finishedStages: [] }, `${name} stopped`);
      if (spot.notice) throw interrupted();
      let onAbort: () => void = () => undefined;
      const stopped = new Promise<never>((_, reject) => {
        onAbort = () => reject(interrupted());
        spot.signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([fn(...args), stopped]);
      } finally {
        // A step still running after the notice is left to the instance's end, a minute or two away.
        spot.signal.removeEventListener('abort', onAbort);
      }
    };
  }
  return out as A;
}
