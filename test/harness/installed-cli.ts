import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type Result } from 'execa';
import { REPO_ROOT } from './paths.ts';

/**
 * The cd4ml command as a user gets it: `make build`, `pnpm pack` of the client package, and
 * `npm install <tarball>` into an empty folder outside the repository. npm's own cache
 * (~/.npm) is reused, so a second run downloads nothing.
 */
export class InstalledCli {
  private constructor(readonly dir: string, readonly bin: string) {}

  static async install(): Promise<InstalledCli> {
    await execa(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: REPO_ROOT });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-installed-'));
    const packs = path.join(dir, 'tarball');
    await execa('pnpm', ['pack', '--pack-destination', packs], { cwd: path.join(REPO_ROOT, 'client') });
    const [tarball] = (await readdir(packs)).filter((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`pnpm pack wrote no tarball into ${packs}`);
    const project = path.join(dir, 'project');
    await execa('mkdir', ['-p', project]);
    await writeFile(path.join(project, 'package.json'), '{"name": "uses-cd4ml", "private": true}\n');
    await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(packs, tarball)], {
      cwd: project,
      // onnxruntime-node's install script would fetch CUDA binaries; the CPU ones ship in the package.
      env: { ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
    return new InstalledCli(project, path.join(project, 'node_modules', '.bin', 'cd4ml'));
  }

  /** `cd4ml ...` from the install folder, with nothing of the repository's environment (no tsx, no NODE_OPTIONS). */
  run(args: string[], env: Record<string, string> = {}): Promise<Result<{ reject: false; all: true }>> {
    return execa(this.bin, args, {
      cwd: this.dir, reject: false, all: true, extendEnv: false,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? os.homedir(), ...env },
    });
  }

  async remove(): Promise<void> {
    await rm(path.dirname(this.dir), { recursive: true, force: true });
  }
}
