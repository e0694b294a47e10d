import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from './paths.ts';

// The base of the example's training image: Debian bookworm with Python and
// the example's requirements in /opt/venv. No registry outside reaches this
// machine (no Docker Hub), so it is made here with debootstrap from Debian's
// apt, once, and kept as a tarball in the user cache.

const REQUIREMENTS = path.join(REPO_ROOT, 'examples/penguins/requirements.txt');
const CACHE = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'cd4ml', 'images');
/** Bump when the recipe below changes. */
const RECIPE = 'bookworm-minbase-python3-venv-1';

/**
 * podman's machine configuration for the tests: runc (crun cannot run under
 * this VM's hybrid cgroups), file events (the test reads them), rlimits this
 * VM allows, vfs storage in `dir`. A real machine has its own containers.conf.
 */
export async function podmanConfig(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const conf = path.join(dir, 'containers.conf');
  const storage = path.join(dir, 'storage.conf');
  await writeFile(conf, [
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]',
    '[engine]',
    'runtime = "runc"',
    'events_logger = "file"',
    `events_logfile_path = ${JSON.stringify(path.join(dir, 'events.log'))}`,
    '',
  ].join('\n'));
  await writeFile(storage, [
    '[storage]',
    'driver = "vfs"',
    `graphroot = ${JSON.stringify(path.join(dir, 'storage'))}`,
    `runroot = ${JSON.stringify(path.join(dir, 'run'))}`,
    '',
  ].join('\n'));
  return { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: storage };
}

/** The base's key: changes with the example's requirements and the recipe. */
async function baseKey(): Promise<string> {
  return createHash('sha256').update(RECIPE).update(await readFile(REQUIREMENTS)).digest('hex').slice(0, 12);
}

/** The base root filesystem as a tarball: from the cache, or made now (about a minute; needs root and Debian's mirror). */
export async function baseTarball(log: (line: string) => void = () => {}): Promise<{ tarball: string; key: string }> {
  const key = await baseKey();
  const tarball = path.join(CACHE, `penguins-base-${key}.tar`);
  if (existsSync(tarball)) return { tarball, key };
  if (process.getuid?.() !== 0) throw new Error('making the training base image needs root (debootstrap, chroot): run the tests as root, or put the tarball in place');
  await mkdir(CACHE, { recursive: true });
  const work = await mkdtemp(path.join(CACHE, 'build-'));
  const root = path.join(work, 'rootfs');
  try {
    log('training base: debootstrap bookworm (once; cached in ~/.cache/cd4ml/images)');
    await execa('debootstrap', ['--variant=minbase', '--include=python3,python3-venv,git,ca-certificates', 'bookworm', root, 'http://deb.debian.org/debian']);
    // This machine reaches PyPI through a proxy with its own CA: the chroot needs it too.
    await copyFile('/etc/ssl/certs/ca-certificates.crt', path.join(root, 'etc/ssl/certs/ca-certificates.crt'));
    await copyFile('/etc/resolv.conf', path.join(root, 'etc/resolv.conf'));
    await copyFile(REQUIREMENTS, path.join(root, 'opt/requirements.txt'));
    log('training base: pip install the example requirements into /opt/venv');
    await execa('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
    try {
      await execa('chroot', [root, '/bin/sh', '-c', 'python3 -m venv /opt/venv && /opt/venv/bin/pip install -q --no-cache-dir -r /opt/requirements.txt'], {
        env: { PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_FIND_LINKS: '', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, extendEnv: false,
      });
    } finally {
      await execa('umount', [path.join(root, 'proc')]);
    }
    for (const junk of ['var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/locale']) {
      await rm(path.join(root, junk), { recursive: true, force: true });
    }
    const partial = `${tarball}.partial`;
    await execa('tar', ['-C', root, '-cf', partial, '.']);
    await rename(partial, tarball);
    return { tarball, key };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Pushes the base to `registryHost` as cd4ml/penguins-base:<key>; returns the ref a Dockerfile's FROM names. */
export async function pushBaseImage(registryHost: string, podmanEnv: Record<string, string>, log?: (line: string) => void): Promise<string> {
  const { tarball, key } = await baseTarball(log);
  const ref = `${registryHost}/cd4ml/penguins-base:${key}`;
  const env = { ...podmanEnv };
  await execa('podman', ['import', tarball, ref], { env });
  await execa('podman', ['push', '--tls-verify=false', ref, `docker://${ref}`], { env });
  // Its local copy is not needed: the training image is pulled from the registry.
  await execa('podman', ['rmi', ref], { env, reject: false });
  return ref;
}
