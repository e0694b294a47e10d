import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '@cd4ml/contracts';
import { killOrphan, ProcessFailed } from '../process/run-process.ts';
import { startHeartbeats } from '../heartbeat.ts';
import { dvc, type DvcEnv } from './dvc.ts';

const RUNNING_STAGE = /Running stage '([^']+)'/;
const SKIPPED_STAGE = /Stage '([^']+)' (?:didn't change, skipping|is cached - skipping run)/;

/**
 * `dvc repro` with a heartbeat naming the DVC stage that runs. A failing stage
 * is deterministic for this commit: non-retryable, with the stage's name and
 * the tail of its output. Cancellation kills the whole process tree.
 */
export async function reproPipeline(
  env: DvcEnv,
  dir: string,
  timeoutMs: number,
): Promise<{ ran: string[]; skipped: string[] }> {
  const pidFile = path.join(dir, '.dvc', 'tmp', 'cd4ml-repro.pid');
  // A worker killed mid-repro leaves its detached dvc running: stop it before starting again.
  await killOrphan(pidFile);
  const ran: string[] = [];
  const skipped: string[] = [];
  const hb = startHeartbeats({ stage: 'dvc-repro', dvcStage: '', ran, line: '' });
  try {
    await dvc(env, ['repro'], {
      cwd: dir,
      signal: hb.signal,
      timeoutMs,
      pidFile,
      onLine: (line) => {
        const running = RUNNING_STAGE.exec(line)?.[1];
        const skip = SKIPPED_STAGE.exec(line)?.[1];
        if (running) ran.push(running);
        if (skip) skipped.push(skip);
        hb.update({ dvcStage: running ?? skip ?? ran.at(-1) ?? '', ran, line: line.slice(0, 200) });
      },
    });
    return { ran, skipped };
  } catch (err) {
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
  }
}
