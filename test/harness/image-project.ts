import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'cd4ml test', GIT_AUTHOR_EMAIL: 'test@localhost',
  GIT_COMMITTER_NAME: 'cd4ml test', GIT_COMMITTER_EMAIL: 'test@localhost',
  GIT_TERMINAL_PROMPT: '0',
};

/** Names of the variables the project's cd4ml.yaml gives for the registry login. */
export const REGISTRY_ENV = { usernameEnv: 'CD4ML_TEST_REGISTRY_USER', passwordEnv: 'CD4ML_TEST_REGISTRY_PASSWORD' };

/**
 * A small ML project with a training image: cd4ml.yaml naming a registry, a
 * Dockerfile `FROM scratch` (no base image to download: there is no internet
 * here) that copies requirements.txt and app/, a .dockerignore, and a README
 * the image does not use. A local bare repository stands in for GitLab.
 */
export class ImageProject {
  readonly repoUrl: string;
  readonly workDir: string;

  constructor(readonly root: string, readonly repository: string) {
    this.repoUrl = path.join(root, 'tiny.git');
    this.workDir = path.join(root, 'work');
  }

  async create(): Promise<string> {
    await rm(this.root, { recursive: true, force: true });
    await mkdir(this.workDir, { recursive: true });
    await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', this.repoUrl]);
    await this.git('init', '--quiet', '--initial-branch=main');
    await this.git('remote', 'add', 'origin', this.repoUrl);
    await this.write('cd4ml.yaml', [
      'project: tiny',
      'locations:',
      '  local:',
      '    provider: local',
      'image:',
      `  repository: ${this.repository}`,
      '  credentials:',
      `    usernameEnv: ${REGISTRY_ENV.usernameEnv}`,
      `    passwordEnv: ${REGISTRY_ENV.passwordEnv}`,
      '',
    ].join('\n'));
    await this.write('Dockerfile', 'FROM scratch\nCOPY requirements.txt /opt/\nCOPY app/ /opt/app/\n');
    await this.write('.dockerignore', 'app/*.log\n');
    await this.write('requirements.txt', 'dvc==3.63.0\n');
    await this.write('app/train.py', 'print("training")\n');
    await this.write('README.md', '# tiny\n');
    // resolveTraining wants a pipeline; its stages do not matter to the image.
    await this.write('dvc.yaml', 'stages: {}\n');
    return this.commitAndPush('tiny: project with a training image');
  }

  git(...args: string[]): Promise<string> {
    return execa('git', args, { cwd: this.workDir, env: GIT_ENV, stdin: 'ignore' }).then((r) => r.stdout.trim());
  }

  async write(rel: string, text: string): Promise<void> {
    await mkdir(path.dirname(path.join(this.workDir, rel)), { recursive: true });
    await writeFile(path.join(this.workDir, rel), text);
  }

  /**
   * A static `sleeper` binary in the context (gcc -static; FROM scratch has no
   * shell), so a Dockerfile can `RUN ["/sleeper", "<seconds>", "<token>"]`: a
   * build step that takes as long as a test needs, findable by its token.
   */
  async addSleeper(): Promise<void> {
    const source = path.join(this.root, 'sleeper.c');
    await writeFile(source, '#include <stdlib.h>\n#include <unistd.h>\nint main(int c, char **v) { sleep(c > 1 ? atoi(v[1]) : 1); return 0; }\n');
    await execa('gcc', ['-static', '-O2', '-o', path.join(this.workDir, 'sleeper'), source]);
  }

  /** Commits everything and pushes it to `branch` (created from the current commit if new). */
  async commitAndPush(message: string, branch = 'main'): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '--quiet', '--allow-empty', '-m', message);
    await this.git('push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
    return this.git('rev-parse', 'HEAD');
  }
}
