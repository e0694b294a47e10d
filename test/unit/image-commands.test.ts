import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImageRunConfig, pinnedRef } from '@cd4ml/contracts';
import { builderCommands, type BuilderSettings } from '@cd4ml/activities/image/builders';
import { containerRunArgs, gpuArgs } from '@cd4ml/activities/image/container-run';
import { registryLogin, writeAuthFile } from '@cd4ml/activities/image/credentials';
import { branchTag, parseRepository } from '@cd4ml/activities/image/image-ref';

// No container engine runs on this machine: these check the command lines
// cd4ml hands to docker, podman and kaniko. buildah's run for real in
// test/integration/image.test.ts.

const settings: BuilderSettings = {
  buildah: { root: '/s/root', runroot: '/s/run', storageDriver: 'vfs', isolation: 'chroot' },
  kanikoExecutor: '/kaniko/executor',
};
const job = { contextDir: '/w/context', dockerfile: '/w/Dockerfile', ref: 'localhost:5000/p:abc', insecure: true, authFile: '/w/auth/config.json' };

describe('builder command lines', () => {
  it('buildah: bud then push the content tag, with its own storage, the login file and plain http', () => {
    const cmds = builderCommands('buildah', job, settings);
    const global = ['--root', '/s/root', '--runroot', '/s/run', '--storage-driver', 'vfs'];
    expect(cmds.map((c) => [c.step, c.file, c.args, Boolean(c.optional)])).toEqual([
      ['build', 'buildah', [...global, 'bud', '--isolation', 'chroot', '--tls-verify=false', '--authfile', '/w/auth/config.json',
        '-f', '/w/Dockerfile', '-t', 'localhost:5000/p:abc', '/w/context'], false],
      ['push', 'buildah', [...global, 'push', '--tls-verify=false', '--authfile', '/w/auth/config.json',
        'localhost:5000/p:abc', 'docker://localhost:5000/p:abc'], false],
      ['clean', 'buildah', [...global, 'rmi', 'localhost:5000/p:abc'], true],
    ]);
  });

  it('kaniko: one executor run that builds and pushes; the login through DOCKER_CONFIG', () => {
    expect(builderCommands('kaniko', job, settings)).toEqual([{
      step: 'build', file: '/kaniko/executor', env: { DOCKER_CONFIG: '/w/auth' },
      args: ['--context', 'dir:///w/context', '--dockerfile', '/w/Dockerfile', '--destination', 'localhost:5000/p:abc',
        '--insecure', '--insecure-pull', '--skip-tls-verify'],
    }]);
  });

  it('docker: build, push, remove the local copy; no secret on any command line', () => {
    const cmds = builderCommands('docker', { ...job, insecure: false }, settings);
    expect(cmds.map((c) => [c.file, ...c.args])).toEqual([
      ['docker', 'build', '-f', '/w/Dockerfile', '-t', 'localhost:5000/p:abc', '/w/context'],
      ['docker', 'push', 'localhost:5000/p:abc'],
      ['docker', 'image', 'rm', 'localhost:5000/p:abc'],
    ]);
    expect(cmds.every((c) => c.env.DOCKER_CONFIG === '/w/auth')).toBe(true);
  });
});

describe('docker / podman run of the training image', () => {
  const image = { pinnedRef: 'reg.example.com/p@sha256:00ff', run: ImageRunConfig.parse({ gpus: 'all', args: ['--shm-size', '8g'] }) };
  const base = {
    image, name: 'cd4ml-repro-1', checkout: '/loc/p', workdir: '/loc/p/ml', user: { uid: 1000, gid: 1000 },
    env: { DVC_NO_ANALYTICS: '1' }, command: ['dvc', 'repro'],
  };

  it('docker: GPUs, the checkout mounted at its own path, the worker\'s user, the image by digest', () => {
    expect(containerRunArgs(base)).toEqual([
      'run', '--rm', '--init', '--name', 'cd4ml-repro-1', '--user', '1000:1000', '--gpus', 'all',
      '--volume', '/loc/p:/loc/p', '--workdir', '/loc/p/ml', '--env', 'HOME=/tmp', '--env', 'DVC_NO_ANALYTICS=1',
      '--shm-size', '8g', 'reg.example.com/p@sha256:00ff', 'dvc', 'repro',
    ]);
  });

  it('podman: rootless keeps the user id; GPUs through CDI names', () => {
    const args = containerRunArgs({ ...base, image: { ...image, run: { ...image.run, engine: 'podman', gpus: '"device=0,2"' } } });
    expect(args).toContain('--userns=keep-id');
    expect(args).not.toContain('--user');
    expect(args.join(' ')).toContain('--device nvidia.com/gpu=0 --device nvidia.com/gpu=2');
    expect(gpuArgs('podman', 'all')).toEqual(['--device', 'nvidia.com/gpu=all']);
    expect(gpuArgs('podman', '2')).toEqual(['--device', 'nvidia.com/gpu=0', '--device', 'nvidia.com/gpu=1']);
    expect(gpuArgs('docker', '"device=0,2"')).toEqual(['--gpus', '"device=0,2"']);
  });

  it('runs without GPU flags when none are configured, and as root under root podman', () => {
    const args = containerRunArgs({ ...base, user: { uid: 0, gid: 0 }, image: { ...image, run: ImageRunConfig.parse({ engine: 'podman' }) } });
    expect(args).toContain('--user');
    expect(args.some((a) => a.includes('gpu'))).toBe(false);
  });

  it('pins the image by digest', () => {
    expect(pinnedRef({ ref: 'localhost:5000/team/p:0123abcd', digest: 'sha256:ff' })).toBe('localhost:5000/team/p@sha256:ff');
  });
});

describe('registry addresses and logins', () => {
  it('splits repositories as Docker does; loopback and insecure registries are plain http', () => {
    expect(parseRepository('localhost:5000/team/p')).toEqual({ host: 'localhost:5000', name: 'team/p', baseUrl: 'http://localhost:5000' });
    expect(parseRepository('127.0.0.1:5000/p').baseUrl).toBe('http://127.0.0.1:5000');
    expect(parseRepository('registry.gitlab.com/team/p')).toEqual({ host: 'registry.gitlab.com', name: 'team/p', baseUrl: 'https://registry.gitlab.com' });
    expect(parseRepository('registry.lan:5000/p', true).baseUrl).toBe('http://registry.lan:5000');
    expect(parseRepository('team/p')).toEqual({ host: 'docker.io', name: 'team/p', baseUrl: 'https://registry-1.docker.io' });
    expect(parseRepository('python').name).toBe('library/python');
  });

  it('turns branch names into tags', () => {
    expect(branchTag('main')).toBe('main');
    expect(branchTag('feature/new-model')).toBe('feature-new-model');
    expect(branchTag('-x')).toBe('x');
    expect(branchTag('a'.repeat(200))).toHaveLength(128);
  });

  it('reads the login from the variables cd4ml.yaml names, and says which is missing', () => {
    const credentials = { usernameEnv: 'REG_USER', passwordEnv: 'REG_PASS' };
    expect(registryLogin({ credentials }, { REG_USER: 'u', REG_PASS: 'p' })).toMatchObject({ username: 'u', password: 'p' });
    expect(registryLogin({}, {})).toBeNull();
    expect(() => registryLogin({ credentials }, { REG_USER: 'u' })).toThrow(/names \$REG_PASS, not set on the control worker/);
  });

  it('writes the login to a file only its owner can read', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-auth-'));
    try {
      const file = await writeAuthFile(path.join(dir, 'auth'), 'localhost:5000', { username: 'u', password: 'p', usernameEnv: 'A', passwordEnv: 'B' });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ auths: { 'localhost:5000': { auth: Buffer.from('u:p').toString('base64') } } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
