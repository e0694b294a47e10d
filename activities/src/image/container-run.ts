import type { ImageRunConfig } from '@cd4ml/contracts';

/** The training image as the location runs it: pinned by digest, with how to run it. */
export interface TrainingImage {
  /** repository@sha256:...: exactly the image the control worker checked. */
  pinnedRef: string;
  run: ImageRunConfig;
}

export interface ContainerRun {
  image: TrainingImage;
  /** Container name, so a restarted worker can remove one it left running. */
  name: string;
  /** The persistent checkout, mounted at the same path inside. */
  checkout: string;
  /** Where the command runs (the DVC project folder inside the checkout). */
  workdir: string;
  /** The location worker's user: files written into the checkout stay its own. */
  user: { uid: number; gid: number };
  env: Record<string, string>;
  command: string[];
}

/**
 * `docker run` / `podman run` arguments for one command in the training image.
 * The checkout is mounted at its own path, so absolute paths in its DVC config
 * (cache, local remotes) mean the same inside; --init forwards SIGTERM to
 * dvc's children and reaps them.
 */
export function containerRunArgs(c: ContainerRun): string[] {
  const { engine, gpus, args } = c.image.run;
  const out = ['run', '--rm', '--init', '--name', c.name];
  // Rootless podman maps the user itself; elsewhere, run as the worker's uid:gid.
  if (engine === 'podman' && c.user.uid !== 0) out.push('--userns=keep-id');
  else out.push('--user', `${c.user.uid}:${c.user.gid}`);
  if (gpus) out.push(...gpuArgs(engine, gpus));
  out.push('--volume', `${c.checkout}:${c.checkout}`, '--workdir', c.workdir);
  // A user with no passwd entry gets HOME=/, where dvc cannot write its config.
  for (const [k, v] of Object.entries({ HOME: '/tmp', ...c.env })) out.push('--env', `${k}=${v}`);
  out.push(...args, c.image.pinnedRef, ...c.command);
  return out;
}

/** docker takes --gpus as written ("all", "2", '"device=0,1"'); podman names each GPU through CDI. */
export function gpuArgs(engine: ImageRunConfig['engine'], gpus: string): string[] {
  if (engine === 'docker') return ['--gpus', gpus];
  const value = gpus.replace(/^["']|["']$/g, '');
  const devices = /^device=/.test(value)
    ? value.slice('device='.length).split(',')
    : /^\d+$/.test(value) ? Array.from({ length: Number(value) }, (_, i) => String(i)) : [value];
  return devices.flatMap((d) => ['--device', `nvidia.com/gpu=${d}`]);
}

/** Removing the container (running or not): after a cancel, or one a crashed worker left behind. */
export const containerRemoveArgs = (name: string): string[] => ['rm', '--force', name];
