import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { ProcessFailed } from '../process/run-process.ts';
import { startHeartbeats } from '../heartbeat.ts';
import { git } from '../git/git.ts';
import { dvc, type DvcEnv } from './dvc.ts';

const retryable = (what: string, err: unknown): never => {
  const tail = err instanceof ProcessFailed ? err.tail.join('\n') : String(err);
  // The remote may be briefly unreachable: the retry policy backs off and tries again.
  throw ApplicationFailure.retryable(`${what} failed; will retry. Last output:\n${tail}`, 'RemoteUnavailable');
};

/**
 * Pulls what the commit needs. Data tracked with `dvc add` must come from the
 * remote. Pipeline outputs recorded in a committed dvc.lock may be missing
 * (never pushed, or about to be rebuilt by repro), so those are pulled with
 * --allow-missing; without a dvc.lock there are none to pull, and that second
 * dvc start (most of a second) is skipped.
 */
export async function pullData(env: DvcEnv, dir: string): Promise<{ dvcFiles: string[] }> {
  const hb = startHeartbeats({ stage: 'dvc-pull', line: '' });
  const onLine = (line: string) => hb.update({ line: line.slice(0, 200) });
  try {
    const dvcFiles = (await git(dir, 'ls-files', '*.dvc')).split('\n').filter(Boolean);
    try {
      if (dvcFiles.length) await dvc(env, ['pull', ...dvcFiles], { cwd: dir, signal: hb.signal, onLine });
      if (existsSync(path.join(dir, 'dvc.lock'))) {
        await dvc(env, ['pull', '--allow-missing'], { cwd: dir, signal: hb.signal, onLine });
      }
    } catch (err) {
      if (hb.signal.aborted) throw err;
      retryable('dvc pull', err);
    }
    return { dvcFiles };
  } finally {
    hb.stop();
  }
}

export async function pushArtifacts(env: DvcEnv, dir: string): Promise<void> {
  const hb = startHeartbeats({ stage: 'dvc-push', line: '' });
  try {
    await dvc(env, ['push'], { cwd: dir, signal: hb.signal, onLine: (line) => hb.update({ line: line.slice(0, 200) }) });
  } catch (err) {
    if (hb.signal.aborted) throw err;
    retryable('dvc push', err);
  } finally {
    hb.stop();
  }
}
