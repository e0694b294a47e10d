import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType, durationMs, type ImageConfig } from '@cd4ml/contracts';
import { showFile } from '../git/mirror.ts';
import { killOrphan, ProcessFailed, runProcess } from '../process/run-process.ts';
import { builderCommands, type BuildCommand } from './builders.ts';
import { writeAuthFile, type RegistryLogin } from './credentials.ts';
import type { ImageDeps, ImageHeartbeat } from './ensure-image.ts';
import { exportContext, type ImagePaths } from './git-context.ts';

export interface BuildInput {
  mirror: string;
  commit: string;
  paths: ImagePaths;
  image: ImageConfig;
  /** repository:contentHash */
  ref: string;
  hash: string;
  login: RegistryLogin | null;
  registryHost: string;
  insecure: boolean;
}

/** What the build needs of the activity's heartbeats. */
interface Heartbeats {
  signal: AbortSignal;
  update(next: Partial<ImageHeartbeat>): void;
}

/**
 * Builds the image from the commit's files with the configured builder and
 * pushes `ref`. The scratch folder (context, login file) is removed whatever
 * happens; cancelling kills the builder's whole process group.
 */
export async function buildAndPush(deps: ImageDeps, input: BuildInput, hb: Heartbeats): Promise<void> {
  hb.update({ imageStep: 'export' });
  const buildsDir = path.join(deps.imageDir, 'builds');
  await killOrphans(buildsDir, input.hash);
  const work = path.join(buildsDir, `${input.hash}-${randomUUID().slice(0, 8)}`);
  try {
    const contextDir = path.join(work, 'context');
    await exportContext(input.mirror, input.commit, input.paths.context, contextDir, hb.signal);
    // The Dockerfile beside the context, not in it: it may live outside the context folder.
    const dockerfile = path.join(work, 'Dockerfile');
    await writeFile(dockerfile, (await showFile(input.mirror, input.commit, input.paths.dockerfile)) ?? '');
    const authFile = input.login ? await writeAuthFile(path.join(work, 'auth'), input.registryHost, input.login) : undefined;
    const job = { contextDir, dockerfile, ref: input.ref, insecure: input.insecure, ...(authFile ? { authFile } : {}) };
    for (const cmd of builderCommands(input.image.builder, job, deps.builders)) {
      hb.update({ imageStep: cmd.step, line: '' });
      await runStep(cmd, {
        cwd: work,
        pidFile: path.join(buildsDir, `${input.hash}.${process.pid}.pid`),
        signal: hb.signal,
        timeoutMs: durationMs(input.image.buildTimeout),
        onLine: (line) => hb.update({ line: line.slice(0, 200) }),
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const building = new Map<string, Promise<unknown>>();

/** Runs `fn` after any earlier call with the same key in this process has ended. */
export async function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (building.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
  building.set(key, run);
  try {
    return await run;
  } finally {
    if (building.get(key) === run) building.delete(key);
  }
}

/**
 * Stops builds of this hash left by control workers that died mid-build (the
 * pid file names the worker's pid). A live worker's build is left alone.
 */
async function killOrphans(buildsDir: string, hash: string): Promise<void> {
  await mkdir(buildsDir, { recursive: true });
  for (const file of await readdir(buildsDir)) {
    const owner = new RegExp(`^${hash}\\.(\\d+)\\.pid$`).exec(file)?.[1];
    if (owner && !isAlive(Number(owner))) await killOrphan(path.join(buildsDir, file));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function runStep(
  cmd: BuildCommand,
  opts: { cwd: string; pidFile: string; signal: AbortSignal; timeoutMs: number; onLine: (line: string) => void },
): Promise<void> {
  try {
    await runProcess(cmd.file, cmd.args, { ...opts, env: cmd.env });
  } catch (err) {
    if (opts.signal.aborted) throw err;
    if (cmd.optional) return;
    if (err instanceof ProcessFailed) throw stepFailure(cmd, err);
    // The builder itself is missing (ENOENT): that is how this worker is set up, not a passing fault.
    throw ApplicationFailure.nonRetryable(
      `cannot run ${cmd.file} (${(err as Error).message.split('\n')[0]}): install it on the control worker, or choose another image.builder`,
      FailureType.ImageBuildFailed,
    );
  }
}

const DENIED = /unauthorized|authentication required|access denied|requested access to the resource is denied/i;
const NETWORK = /connection refused|connection reset|no such host|i\/o timeout|TLS handshake timeout|HTTP status: 5\d\d|50[234] /i;

/** A failed builder step: a refused login and a broken Dockerfile are not retried; a network fault is. */
function stepFailure(cmd: BuildCommand, err: ProcessFailed): ApplicationFailure {
  const tail = err.tail.join('\n');
  const what = `${cmd.step} with ${path.basename(cmd.file)} ${err.exitCode === undefined ? 'timed out' : `exited with ${err.exitCode}`}`;
  if (DENIED.test(tail)) {
    return ApplicationFailure.nonRetryable(
      `image ${what}: the registry refused the login; last output:\n${tail}`, FailureType.RegistryDenied, { tail: err.tail },
    );
  }
  if (cmd.step === 'push' || NETWORK.test(tail)) {
    return ApplicationFailure.retryable(`image ${what}; last output:\n${tail}`, 'RegistryUnavailable', { tail: err.tail });
  }
  return ApplicationFailure.nonRetryable(
    `image ${what}: the Dockerfile does not build at this commit; last output:\n${tail}`, FailureType.ImageBuildFailed, { tail: err.tail },
  );
}
