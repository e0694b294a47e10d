import { cp, mkdir, rm, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseDocument } from 'yaml';

/** The example projects under examples/, all with the same layout (scripts/init_data.py, scripts/append_day.py). */
import type { ExampleName } from './defaults.ts';
export { EXAMPLES, type ExampleName } from './defaults.ts';

export const exampleDir = (example: ExampleName): string =>
  fileURLToPath(new URL(`../../../examples/${example}`, import.meta.url));

export const EXAMPLE_DIR = exampleDir('penguins');

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'cd4ml demo', GIT_AUTHOR_EMAIL: 'demo@localhost',
  GIT_COMMITTER_NAME: 'cd4ml demo', GIT_COMMITTER_EMAIL: 'demo@localhost',
  GIT_TERMINAL_PROMPT: '0',
};

export interface ExampleRepoOptions {
  /** Which project under examples/ (default penguins); it names the repository, <root>/<example>.git. */
  example?: ExampleName;
  /**
   * The DVC remote: s3://bucket/path, with `endpointUrl` for an S3 stand-in
   * (moto, MinIO). Credentials come from the environment (`env` or the
   * process's), never from .dvc/config. Default: a local folder.
   */
  dvcRemote?: { url: string; endpointUrl?: string };
  /** Extra environment for git and dvc here (AWS credentials for an S3 remote). */
  env?: Record<string, string>;
  /**
   * How many daily chunks the data set is cut into (default 10: the initial 6 and 4 new
   * days); more gives more new days, each smaller. Read by the example's scripts/days.py.
   */
  days?: number;
}

/**
 * The example project as a team would have it: a git repository (a local bare
 * one stands in for GitLab), a DVC remote (a local folder, or S3), and a
 * working clone where "people" commit new data or params.
 */
export class ExampleRepo {
  readonly repoUrl: string;
  readonly workDir: string;
  readonly dvcRemote: string;
  readonly example: ExampleName;

  constructor(readonly root: string, readonly venv: string, private readonly opts: ExampleRepoOptions = {}) {
    this.example = opts.example ?? 'penguins';
    this.repoUrl = path.join(root, `${this.example}.git`);
    this.workDir = path.join(root, 'work');
    this.dvcRemote = opts.dvcRemote?.url ?? path.join(root, 'dvc-remote');
  }

  private env() {
    return {
      ...this.opts.env, ...GIT_ENV,
      ...(this.opts.days ? { CD4ML_EXAMPLE_DAYS: String(this.opts.days) } : {}),
      PATH: `${path.join(this.venv, 'bin')}${path.delimiter}${process.env.PATH}`, DVC_NO_ANALYTICS: '1',
    };
  }

  async run(cmd: string, ...args: string[]): Promise<string> {
    const r = await execa(cmd, args, { cwd: this.workDir, env: this.env(), stdin: 'ignore' });
    return r.stdout.trim();
  }

  /** Creates everything from examples/<example>; replaces what was there. */
  async create(): Promise<string> {
    await rm(this.root, { recursive: true, force: true });
    await mkdir(this.root, { recursive: true });
    await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', this.repoUrl]);
    await cp(exampleDir(this.example), this.workDir, {
      recursive: true,
      filter: (src) => !/(__pycache__|\/\.dvc\/|\/data\/|\/model\/|dvc\.lock$|metrics\.json$)/.test(src),
    });
    await this.run('git', 'init', '--quiet', '--initial-branch=main');
    await this.run('dvc', 'init', '--quiet');
    await this.run('dvc', 'config', 'core.autostage', 'true');
    await this.run('dvc', 'remote', 'add', '--default', 'storage', this.dvcRemote);
    const endpoint = this.opts.dvcRemote?.endpointUrl;
    if (endpoint) await this.run('dvc', 'remote', 'modify', 'storage', 'endpointurl', endpoint);
    await this.run('python', 'scripts/init_data.py');
    await this.run('dvc', 'add', '--quiet', 'data/raw');
    await this.run('dvc', 'push', '--quiet');
    await this.run('git', 'add', '-A');
    await this.run('git', 'commit', '--quiet', '-m', `${this.example}: initial data (days 1-6) and pipeline`);
    await this.run('git', 'remote', 'add', 'origin', this.repoUrl);
    await this.run('git', 'push', '--quiet', 'origin', 'main');
    return this.head();
  }

  /** Tags on the shared repository (what cd4ml pushed), sorted. */
  async tags(): Promise<string[]> {
    const r = await execa('git', ['tag', '--list'], { cwd: this.repoUrl });
    return r.stdout.split('\n').filter(Boolean);
  }

  head(): Promise<string> {
    return this.run('git', 'rev-parse', 'HEAD');
  }

  /** The nightly data drop: the next day's rows, tracked and pushed. Null when no day is left. */
  async appendDay(): Promise<string | null> {
    try {
      await this.run('python', 'scripts/append_day.py');
    } catch (err) {
      if ((err as { exitCode?: number }).exitCode === 3) return null;
      throw err;
    }
    await this.run('dvc', 'add', '--quiet', 'data/raw');
    await this.run('dvc', 'push', '--quiet');
    return this.commitAndPush('data: next day');
  }

  /** Sets params.yaml values ("train.max_depth" -> 1) and commits. */
  async setParams(values: Record<string, unknown>, message = 'params: change'): Promise<string> {
    const file = path.join(this.workDir, 'params.yaml');
    const doc = parseDocument(await readFile(file, 'utf8'));
    for (const [key, value] of Object.entries(values)) doc.setIn(key.split('.'), value);
    await writeFile(file, doc.toString());
    return this.commitAndPush(message);
  }

  async writeFile(rel: string, text: string, message: string): Promise<string> {
    await mkdir(path.dirname(path.join(this.workDir, rel)), { recursive: true });
    await writeFile(path.join(this.workDir, rel), text);
    return this.commitAndPush(message);
  }

  async commitAndPush(message: string): Promise<string> {
    await this.run('git', 'add', '-A');
    await this.run('git', 'commit', '--quiet', '--allow-empty', '-m', message);
    await this.run('git', 'push', '--quiet', 'origin', 'HEAD:main');
    return this.head();
  }
}
