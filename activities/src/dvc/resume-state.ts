import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore } from '@cd4ml/stores';
import { capture } from '../process/run-process.ts';
import { dvc, type DvcEnv } from './dvc.ts';

/** Where a training's checkpoint folder is saved: `path` inside the DVC project, archived to `key` in `store`. */
export interface CheckpointPlace {
  path: string;
  store: string;
  key: string;
}

/** How long the interrupted `dvc repro` gets between SIGTERM and SIGKILL: its stage may write a last checkpoint. */
export const REPRO_GRACE_MS = 20_000;

/**
 * What a reclaimed machine saves for the one that replaces it, within the notice's
 * two minutes: DVC's run-cache (every finished stage, with its outputs) to the DVC
 * remote, and the checkpoint folder, as one tar, to the store. Each part is tried
 * even if the other fails; what was saved is returned.
 */
export async function saveForResume(
  env: DvcEnv, dir: string, checkpoint: CheckpointPlace | undefined, onLine: (line: string) => void,
): Promise<{ runCache: boolean; checkpointKey?: string; problems: string[] }> {
  const problems: string[] = [];
  let runCache = false;
  try {
    await dvc(env, ['push', '--run-cache'], { cwd: dir, onLine, timeoutMs: 90_000 });
    runCache = true;
  } catch (err) {
    problems.push(`dvc push --run-cache: ${String(err).slice(0, 500)}`);
  }
  let checkpointKey: string | undefined;
  if (checkpoint) {
    try {
      if (await saveCheckpoint(dir, checkpoint)) checkpointKey = checkpoint.key;
    } catch (err) {
      problems.push(`checkpoint ${checkpoint.path}: ${String(err).slice(0, 500)}`);
    }
  }
  return { runCache, ...(checkpointKey ? { checkpointKey } : {}), problems };
}

/** The checkpoint folder as a tar in the store; false when the training has written none (yet). */
async function saveCheckpoint(dir: string, cp: CheckpointPlace): Promise<boolean> {
  const folder = path.join(dir, cp.path);
  const entries = await readdir(folder).catch(() => [] as string[]);
  if (!entries.length) return false;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-checkpoint-'));
  try {
    const tar = path.join(tmp, 'checkpoint.tar');
    await capture('tar', ['-cf', tar, '-C', folder, '.'], dir);
    await openStore(cp.store).putFile(cp.key, tar);
    return true;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * On the replacement, after the checkout and the data: the checkpoint folder, if
 * the interrupted machine saved one. The run-cache comes with `dvc repro --pull`
 * (see resumeRepro), which restores finished stages from it instead of running them.
 */
export async function restoreForResume(dir: string, checkpoint: CheckpointPlace | undefined): Promise<{ checkpoint: boolean }> {
  if (!checkpoint) return { checkpoint: false };
  const store = openStore(checkpoint.store);
  if (!(await store.stat(checkpoint.key))) return { checkpoint: false };
  const folder = path.join(dir, checkpoint.path);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  await capture('tar', ['-xf', await store.localFile(checkpoint.key), '-C', folder], dir);
  return { checkpoint: true };
}

/** `dvc repro --pull`: a stage whose run-cache entry is on the remote is checked out from it, not run. */
export const resumeRepro = <C extends { args: string[] }>(command: C): C => ({ ...command, args: [...command.args, '--pull'] });
