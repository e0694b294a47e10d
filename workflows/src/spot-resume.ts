import { ActivityFailure, ApplicationFailure, log, patched } from '@temporalio/workflow';
import type { Machine, StopResult, TrainingPlan } from '@cd4ml/activities';
import type { MachineAttempt, SpotInterruptionDetails } from '@cd4ml/contracts/spot';
import { FailureType } from '@cd4ml/contracts/failures';
import { estimatedCost } from '@cd4ml/contracts/training';
import type { ProgressTracker } from './progress.ts';
import type { TrainingMachine } from './training-machine.ts';
import { replacementConfig } from './spot-choices.ts';

/** Histories from before spot resume fail the training on SpotInterrupted; newer ones resume. */
export const SPOT_RESUME_PATCH = 'spot-resume';

/** What a step on a replacement machine needs to know: the machines given up before it. */
export interface ResumeFrom {
  attempts: MachineAttempt[];
}

export interface SpotResume {
  plan: TrainingPlan;
  machine: TrainingMachine;
  progress: ProgressTracker;
  notes: string[];
}

/**
 * Starts the training's machine and runs `run` (its steps) on it. When EC2
 * reclaims a launched spot instance (the location step fails SpotInterrupted,
 * having pushed the run-cache and the checkpoint), that instance is switched
 * off and a replacement started (the next type or zone; on-demand after
 * spot.maxInterruptions), and `run` goes again there, told what came before.
 */
export async function withSpotResume<T>(ctx: SpotResume, run: (machine: Machine, resume: ResumeFrom | undefined) => Promise<T>): Promise<T> {
  const { plan, machine, progress } = ctx;
  let started = await machine.start();
  const attempts: MachineAttempt[] = [];
  for (;;) {
    try {
      return await run(started, attempts.length ? { attempts: [...attempts] } : undefined);
    } catch (err) {
      const details = spotInterruption(err);
      if (!details || plan.location.provider !== 'ec2' || started.lifecycle !== 'launch-terminate' || !patched(SPOT_RESUME_PATCH)) throw err;
      const { stopped } = await machine.replace();
      attempts.push(attemptOf(started, stopped, 'spot-interrupted'));
      const config = replacementConfig(plan.location, started, attempts.length);
      const note = `EC2 reclaimed spot instance ${started.instanceId} (${started.instanceType ?? 'template type'}${started.zone ? ` in ${started.zone}` : ''}) ` +
        `after ${Math.round(stopped.seconds)} s; finished stages: ${details.finishedStages.join(', ') || 'none'}; ` +
        `${details.checkpointKey ? 'checkpoint saved' : 'no checkpoint'}; resuming on a replacement (${config.spot ? 'spot' : 'on-demand'}${config.instanceTypes[0] ? `, ${config.instanceTypes[0]} first` : ''})`;
      log.warn(note);
      ctx.notes.push(note);
      progress.note(note);
      started = await machine.start({ config, launchesBefore: attempts.length });
    }
  }
}

/** The details a location step failed with when the spot instance under it was being reclaimed. */
function spotInterruption(err: unknown): SpotInterruptionDetails | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || cause.type !== FailureType.SpotInterrupted) return undefined;
  const details = cause.details?.[0] as SpotInterruptionDetails | undefined;
  return { finishedStages: [], ...details, notice: details?.notice ?? { action: 'terminate', time: '', noticedAt: 0 } };
}

export function attemptOf(machine: Machine, stopped: Pick<StopResult, 'seconds' | 'estimatedCost'>, ended: string): MachineAttempt {
  return {
    instanceId: machine.instanceId, instanceType: machine.instanceType, zone: machine.zone ?? null, market: machine.market ?? null,
    ended, seconds: stopped.seconds, estimatedCost: stopped.estimatedCost,
  };
}

/** Every machine of a training that ran on more than one (none otherwise), ending with the last one. */
export function trainingAttempts(machine: TrainingMachine, ended: string): MachineAttempt[] | undefined {
  if (!machine.replaced.length) return undefined;
  const before = machine.replaced.map((r) => attemptOf(r.machine, r.stopped, 'spot-interrupted'));
  const last = machine.current && machine.stopped ? [attemptOf(machine.current, machine.stopped, ended)] : [];
  return [...before, ...last];
}

/** Machine time and cost over every attempt (the cost is null when no attempt has a price). */
export function totalOf(attempts: Pick<MachineAttempt, 'seconds' | 'estimatedCost'>[]): { seconds: number; estimatedCost: number | null } {
  const seconds = attempts.reduce((s, a) => s + a.seconds, 0);
  const costs = attempts.map((a) => a.estimatedCost).filter((c): c is number => c !== null);
  return { seconds, estimatedCost: costs.length ? costs.reduce((s, c) => s + c, 0) : null };
}

/** The current machine's attempt up to now (for the release, written while it is still on). */
export function attemptsSoFar(resume: ResumeFrom | undefined, machine: Machine): MachineAttempt[] | undefined {
  if (!resume) return undefined;
  const seconds = (Date.now() - machine.startedAt) / 1000;
  return [...resume.attempts, attemptOf(machine, { seconds, estimatedCost: estimatedCost(seconds, machine.hourlyPrice) }, 'accepted')];
}
