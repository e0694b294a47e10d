import { copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/paths.ts';

// What the bootstrap does about system packages, run for real in a scratch copy: the demo needs
// none; the tests' packages are named as one Homebrew command on a machine without Debian's
// dpkg-query/apt (here: a PATH of this machine's commands without them and without the packages').
const HIDDEN = new Set(['dpkg-query', 'apt-get', 'buildah', 'podman', 'chromium', 'registry', 'docker-registry', 'initdb']);

describe('bootstrap: system packages (real bash, scratch copy)', () => {
  let dir: string;
  let bin: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-bootstrap-'));
    await mkdir(path.join(dir, 'scripts'));
    await copyFile(path.join(REPO_ROOT, 'scripts/bootstrap.sh'), path.join(dir, 'scripts/bootstrap.sh'));
    await copyFile(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
    bin = path.join(dir, 'bin');
    await mkdir(bin);
    for (const from of ['/usr/local/bin', '/usr/bin', '/bin']) {
      for (const name of await readdir(from).catch(() => [] as string[])) {
        if (HIDDEN.has(name)) continue;
        await symlink(path.join(from, name), path.join(bin, name)).catch(() => undefined); // first one wins
      }
    }
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const bootstrap = (args: string[], PATH: string) =>
    execa('bash', [path.join(dir, 'scripts/bootstrap.sh'), ...args], {
      cwd: dir, reject: false, stdin: 'ignore', env: { PATH, CD4ML_BOOTSTRAP_STEPS: 'packages', CD4ML_BOOTSTRAP_TEST: '' }, extendEnv: false,
    });

  it('for the demo, installs and asks for no system package, with or without apt', async () => {
    for (const PATH of [bin, process.env.PATH!]) {
      const r = await bootstrap([], PATH);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/apt|brew/);
    }
  });

  it('for the tests without dpkg-query: prints the one brew command for what is missing, and does not fail', async () => {
    const r = await bootstrap(['--test'], bin);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('bootstrap:   brew install buildah distribution podman chromium postgresql@17');
    expect(r.stderr).toBe('');
  });

  it('for the tests with apt, where everything is installed (this machine): nothing to do', async () => {
    const r = await bootstrap(['--test'], process.env.PATH!);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/installing apt packages|brew/);
  });
});
