import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { containerRemoveArgs, containerRunArgs, type TrainingImage } from '../image/container-run.ts';
import { capture, ProcessFailed } from '../process/run-process.ts';
import type { ReproCommand } from './repro.ts';

// No analytics or update checks inside the image either: network calls that can hang offline.
const DVC_ENV = { DVC_NO_ANALYTICS: '1', DVC_NO_UPDATE_CHECK: '1', PYTHONUNBUFFERED: '1' };

/**
 * `dvc repro` inside the training image (its own dvc and libraries), with the
 * persistent checkout mounted. The container is named after the checkout, so
 * a cancel or a restarted worker can remove it: killing `docker run` alone
 * would leave it running.
 */
export async function reproInImage(image: TrainingImage, checkout: string, workdir: string): Promise<ReproCommand> {
  const engine = image.run.engine;
  try {
    // Asks the daemon, not just the CLI: "cannot connect" is said here, not as a failed stage.
    await capture(engine, ['version'], workdir);
  } catch (err) {
    const detail = err instanceof ProcessFailed ? err.tail.slice(-3).join(' ') : (err as Error).message;
    throw ApplicationFailure.retryable(
      `${engine} cannot run the training image on this location (${detail}): start ${engine} here, or remove image from cd4ml.yaml to train without one`,
      'ContainerEngineUnavailable',
    );
  }
  const name = `cd4ml-repro-${createHash('sha256').update(checkout).digest('hex').slice(0, 12)}`;
  return {
    file: engine,
    args: containerRunArgs({
      image, name, checkout, workdir, env: DVC_ENV, command: ['dvc', 'repro'],
      user: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    }),
    env: {},
    cleanup: () => capture(engine, containerRemoveArgs(name), workdir).then(() => undefined, () => undefined),
  };
}
