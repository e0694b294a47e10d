import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import { killOrphan, ProcessFailed, runProcess } from '../process/run-process.ts';
import { startHeartbeats } from '../heartbeat.ts';
import { dvcEnv, type DvcEnv } from './dvc.ts';
import type { StageLog } from '../logs/stage-log.ts';

const RUNNING_STAGE = /Running stage '([^']+)'/;
const SKIPPED_STAGE = /Stage '([^']+)' (?:didn't change, skipping|is cached - skipping run)/;

/** How `dvc repro` starts: the venv's dvc on the machine, or dvc inside the training image. */
export interface ReproCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** Removes what a killed run leaves beyond its process group (a container). */
  cleanup?: () => Promise<void>;
}

export const venvRepro = (env: DvcEnv): ReproCommand => ({
  file: path.join(env.venv, 'bin', 'dvc'), args: ['repro'], env: dvcEnv(env),
});

/** `dvc repro` stopped because EC2 is reclaiming the machine (see SpotWatcher), not because it failed. */
export class ReproInterrupted extends Error {
  constructor(readonly finished: string[], readonly stoppedIn: string | undefined) {
    super(`dvc repro stopped for a spot interruption${stoppedIn ? ` in stage '${stoppedIn}'` : ''}`);
    this.name = 'ReproInterrupted';
  }
}

/** Stops the run when `signal` aborts: SIGTERM to its process group, SIGKILL after `graceMs`. */
export interface ReproInterrupt {
  signal: AbortSignal;
  graceMs: number;
}

/**
 * `dvc repro` with a heartbeat naming the DVC stage that runs. A failing stage
 * is deterministic for this commit: non-retryable, with the stage's name and
 * the tail of its output. Cancellation kills the whole process tree.
 */
export async function reproPipeline(
  command: ReproCommand,
  dir: string,
  timeoutMs: number,
  { log, interrupt }: { log?: StageLog; interrupt?: ReproInterrupt } = {},
): Promise<{ ran: string[]; skipped: string[] }> {
  const pidFile = path.join(dir, '.dvc', 'tmp', 'cd4ml-repro.pid');
  // A worker killed mid-repro leaves its detached dvc (or its container) running: stop it before starting again.
  await killOrphan(pidFile);
  // A fresh clone with nothing to pull has no .dvc/tmp yet (dvc makes it on its first run).
  await mkdir(path.dirname(pidFile), { recursive: true });
  await command.cleanup?.();
  const ran: string[] = [];
  const skipped: string[] = [];
  const hb = startHeartbeats({ stage: 'dvc-repro', dvcStage: '', ran, line: '' });
  log?.start();
  let ok = false;
  try {
    await runProcess(command.file, command.args, {
      cwd: dir,
      env: command.env,
      signal: interrupt ? AbortSignal.any([hb.signal, interrupt.signal]) : hb.signal,
      timeoutMs,
      pidFile,
      ...(interrupt ? { killAfterMs: interrupt.graceMs } : {}),
      onLine: (line) => {
        log?.line(line);
        const running = RUNNING_STAGE.exec(line)?.[1];
        const skip = SKIPPED_STAGE.exec(line)?.[1];
        if (running) ran.push(running);
        if (skip) skipped.push(skip);
        hb.update({ dvcStage: running ?? skip ?? ran.at(-1) ?? '', ran, line: line.slice(0, 200) });
      },
    });
    ok = true;
    return { ran, skipped };
  } catch (err) {
    if (interrupt?.signal.aborted && !hb.signal.aborted) {
      // The stage that was running when the notice came did not finish; every one before it did.
      const stoppedIn = ran.at(-1);
      throw new ReproInterrupted([...skipped, ...ran.slice(0, -1)], stoppedIn);
    }
    if (err instanceof ProcessFailed && !hb.signal.aborted) {
      const stage = ran.at(-1);
      throw ApplicationFailure.nonRetryable(
        `dvc repro failed${stage ? ` in stage '${stage}'` : ''} (exit ${err.exitCode ?? 'timeout'}); last output:\n${err.tail.join('\n')}`,
        FailureType.StageFailed,
        { stage, tail: err.tail },
      );
    }
    throw err;
  } finally {
    hb.stop();
    await log?.close(ok ? 'ok' : 'failed');
    if (hb.signal.aborted || interrupt?.signal.aborted) await command.cleanup?.();
  }
}
