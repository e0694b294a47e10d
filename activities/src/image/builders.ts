import path from 'node:path';
import type { ImageConfig } from '@cd4ml/contracts';

/** One image build, as every builder needs it. */
export interface BuildJob {
  contextDir: string;
  dockerfile: string;
  /** repository:contentHash, built and pushed. */
  ref: string;
  /** Plain http / no TLS verification towards the registry. */
  insecure: boolean;
  /** config.json with the registry login (see credentials.ts), when cd4ml.yaml names one. */
  authFile?: string;
}

/** How this control worker runs its builders. */
export interface BuilderSettings {
  /** buildah's own storage, apart from the system's: vfs + chroot need no daemon, no fuse, no privileges beyond root. */
  buildah: { root: string; runroot: string; storageDriver: string; isolation: string };
  /** kaniko's executor: the control worker then runs inside the kaniko image. */
  kanikoExecutor: string;
}

export function defaultBuilderSettings(imageDir: string): BuilderSettings {
  return {
    buildah: {
      root: path.join(imageDir, 'buildah', 'root'),
      runroot: path.join(imageDir, 'buildah', 'run'),
      storageDriver: process.env.CD4ML_BUILDAH_STORAGE_DRIVER ?? 'vfs',
      isolation: process.env.CD4ML_BUILDAH_ISOLATION ?? 'chroot',
    },
    kanikoExecutor: process.env.CD4ML_KANIKO_EXECUTOR ?? '/kaniko/executor',
  };
}

export interface BuildCommand {
  /** Shown in heartbeats: build, push or clean. */
  step: 'build' | 'push' | 'clean';
  file: string;
  args: string[];
  env: Record<string, string>;
  /** A failure here does not fail the image (freeing local storage). */
  optional?: boolean;
}

/**
 * The command lines that build `job.ref` and push it. Each builder pushes the
 * content-hash tag only; the branch tag is set through the registry API, the
 * same way for all three.
 */
export function builderCommands(builder: ImageConfig['builder'], job: BuildJob, settings: BuilderSettings): BuildCommand[] {
  const dockerConfig: Record<string, string> = job.authFile ? { DOCKER_CONFIG: path.dirname(job.authFile) } : {};
  switch (builder) {
    case 'buildah': {
      const b = settings.buildah;
      const global = ['--root', b.root, '--runroot', b.runroot, '--storage-driver', b.storageDriver];
      const registryFlags = [...(job.insecure ? ['--tls-verify=false'] : []), ...(job.authFile ? ['--authfile', job.authFile] : [])];
      return [
        {
          step: 'build', file: 'buildah', env: {},
          args: [...global, 'bud', '--isolation', b.isolation, ...registryFlags, '-f', job.dockerfile, '-t', job.ref, job.contextDir],
        },
        { step: 'push', file: 'buildah', env: {}, args: [...global, 'push', ...registryFlags, job.ref, `docker://${job.ref}`] },
        // The pushed image lives in the registry; local copies under vfs are full copies of every layer.
        { step: 'clean', file: 'buildah', env: {}, args: [...global, 'rmi', job.ref], optional: true },
      ];
    }
    case 'kaniko':
      return [{
        step: 'build', file: settings.kanikoExecutor, env: dockerConfig,
        args: [
          '--context', `dir://${job.contextDir}`, '--dockerfile', job.dockerfile, '--destination', job.ref,
          ...(job.insecure ? ['--insecure', '--insecure-pull', '--skip-tls-verify'] : []),
        ],
      }];
    case 'docker':
      // Plain http needs the registry in the daemon's insecure-registries (loopback ones are by default).
      return [
        { step: 'build', file: 'docker', env: dockerConfig, args: ['build', '-f', job.dockerfile, '-t', job.ref, job.contextDir] },
        { step: 'push', file: 'docker', env: dockerConfig, args: ['push', job.ref] },
        { step: 'clean', file: 'docker', env: dockerConfig, args: ['image', 'rm', job.ref], optional: true },
      ];
  }
}
