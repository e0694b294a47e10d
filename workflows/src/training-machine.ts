import {
  ActivityCancellationType, ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, log, patched, proxyActivities, sleep,
} from '@temporalio/workflow';
import type { ControlActivities, Machine, StartInput, StopResult, TrainingPlan } from '@cd4ml/activities';
import { durationMs } from '@cd4ml/contracts/config';
import { FailureType } from '@cd4ml/contracts/failures';
import { retry, surfaced } from './activity-options.ts';
import type { ProgressTracker } from './progress.ts';

// Switching a cloud machine on can take minutes (boot, then its worker starts). It heartbeats, so a
// dead worker is noticed in 30 s; a cancel waits for the activity to switch off what it switched on.
const compute = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry,
});
// Cleanup must outlast any outage: it retries until it succeeds.
const cleanup = proxyActivities<ControlActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The training's machine: switched on once, and always switched off again. */
export class TrainingMachine {
  private machine: Machine | undefined;
  private startAttempted = false;
  stopped: StopResult | undefined;
  /** Machines this training gave up before the current one (reclaimed spot instances), oldest first. */
  readonly replaced: { machine: Machine; stopped: StopResult }[] = [];

  constructor(
    private readonly plan: TrainingPlan,
    private readonly workflowId: string,
    private readonly progress: ProgressTracker,
  ) {}

  /** `replacement`: the launch settings for the machine that replaces a reclaimed one. */
  async start(replacement?: Pick<StartInput, 'config' | 'launchesBefore'>): Promise<Machine> {
    this.progress.enter('start-machine');
    this.startAttempted = true;
    this.machine = await compute.startMachine({
      location: this.plan.request.location, config: this.plan.location, workflowId: this.workflowId, ...replacement,
    });
    return this.machine;
  }

  get current(): Machine | undefined {
    return this.machine;
  }

  /** Switches the current machine off for good (it is being reclaimed); the next start() brings up another. */
  async replace(): Promise<{ machine: Machine; stopped: StopResult }> {
    const machine = this.machine!;
    this.progress.enter('stop-machine');
    const stopped = await cleanup.stopMachine(machine);
    this.machine = undefined;
    this.startAttempted = false;
    this.replaced.push({ machine, stopped });
    return { machine, stopped };
  }

  /** Switches off what start switched on. Call it in a non-cancellable scope. */
  async stop(): Promise<void> {
    if (this.machine) {
      this.progress.enter('stop-machine');
      this.stopped = await cleanup.stopMachine(this.machine);
    } else if (this.startAttempted) {
      // startMachine never returned (cancelled or failed after launching): stop whatever carries our tags.
      this.progress.enter('stop-machine');
      this.stopped = await cleanup.stopUnstartedMachine({ location: this.plan.request.location, config: this.plan.location, workflowId: this.workflowId });
    }
  }
}

/**
 * Runs `fn` (everything that may cost machine time) and cancels it once the
 * location's maxRuntime has passed, failing the training as MaxRuntimeExceeded.
 */
export async function withinMaxRuntime<T>(plan: TrainingPlan, fn: () => Promise<T>): Promise<T> {
  const pipeline = new CancellationScope();
  const guard = new CancellationScope();
  let runaway = false;
  void guard.run(() => sleep(durationMs(plan.location.maxRuntime))).then(() => {
    runaway = true;
    pipeline.cancel();
  }).catch(() => undefined);
  try {
    return await pipeline.run(fn);
  } catch (err) {
    if (runaway && isCancellation(err)) {
      const { location } = plan.request;
      throw ApplicationFailure.create({
        message: `training ran longer than location "${location}"'s maxRuntime (${plan.location.maxRuntime}) and was stopped; raise locations.${location}.maxRuntime in cd4ml.yaml if it needs longer`,
        type: FailureType.MaxRuntimeExceeded, nonRetryable: true,
      });
    }
    throw err;
  } finally {
    guard.cancel();
  }
}

/** Histories from before the machine watch schedule no watchMachine activity. */
export const MACHINE_WATCH_PATCH = 'machine-lost-watch';

/**
 * Runs `fn` (the location's steps) beside a watch of the machine cd4ml switched
 * on: if the machine goes (terminated, or stopped by someone else), `fn` is
 * cancelled and the training fails with MachineLost instead of its steps waiting
 * on a queue nobody serves until maxRuntime. The caller's cleanup runs as usual.
 * Only for EC2 machines; a failing watch (not a lost machine) just stops watching.
 */
export async function whileMachineRuns<T>(plan: TrainingPlan, machine: Machine, fn: () => Promise<T>): Promise<T> {
  if (!(machine.provider === 'ec2' && machine.instanceId && patched(MACHINE_WATCH_PATCH))) return fn();
  const watcher = proxyActivities<ControlActivities>({
    startToCloseTimeout: durationMs(plan.location.maxRuntime) + 10 * 60_000,
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', nonRetryableErrorTypes: [FailureType.MachineLost] },
  });
  const steps = new CancellationScope();
  const watch = new CancellationScope();
  let lost: unknown;
  void watch.run(() => watcher.watchMachine(machine)).catch((err: unknown) => {
    if (isCancellation(err)) return;
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FailureType.MachineLost) {
      lost = err;
      steps.cancel();
      return;
    }
    log.warn('the machine watch failed; the training goes on unwatched', { error: String(err) });
  });
  try {
    return await steps.run(fn);
  } catch (err) {
    // Once the machine is gone, whatever its steps ended with (cancelled, or failed as its worker
    // shut down) follows from that: the loss is the training's failure.
    if (lost) throw surfaced(lost);
    throw err;
  } finally {
    watch.cancel();
  }
}
