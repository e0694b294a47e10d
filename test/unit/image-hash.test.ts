import { mkdtemp, mkdir, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageConfig } from '@cd4ml/contracts';
import { contextHash, type ContextFile } from '@cd4ml/activities/image/content-hash';
import { dockerfileSources } from '@cd4ml/activities/image/dockerfile-sources';
import { ignoreMatcher } from '@cd4ml/activities/image/ignore-patterns';
import { hashImageAt, imagePaths } from '@cd4ml/activities/image/git-context';

const file = (p: string, id = `id-of-${p}`, mode = '100644'): ContextFile => ({ path: p, mode, id });

describe('dockerfileSources', () => {
  it('reads COPY and ADD sources in shell and JSON form, after their flags', () => {
    const { sources, wholeContext } = dockerfileSources([
      'FROM python:3.12-slim AS base',
      'COPY requirements.txt /tmp/',
      'copy --chown=1000:1000 --chmod=755 src/ lib/*.py /app/',
      'ADD ["with space.txt", "/data/"]',
      'COPY ./a/../b /b',
    ].join('\n'));
    expect(sources).toEqual(['requirements.txt', 'src', 'lib/*.py', 'with space.txt', 'b']);
    expect(wholeContext).toBe(false);
  });

  it('skips what is not in the context: other stages, URLs, heredocs, comments', () => {
    const { sources } = dockerfileSources([
      '# COPY commented.txt /',
      'FROM scratch',
      'COPY --from=base /usr/lib /usr/lib',
      'ADD https://example.com/model.bin /models/',
      'ADD git@github.com:org/repo.git /repo',
      'COPY <<EOF /etc/config',
      'COPY not-an-instruction.txt /',
      'EOF',
      'RUN <<-SCRIPT',
      '\tCOPY inside-heredoc /',
      '\tSCRIPT',
      'COPY real.txt /',
    ].join('\n'));
    expect(sources).toEqual(['real.txt']);
  });

  it('joins continuation lines and honours the escape directive', () => {
    expect(dockerfileSources('COPY a.txt \\\n  # a comment inside\n  b.txt \\\n  /dst/\n').sources).toEqual(['a.txt', 'b.txt']);
    expect(dockerfileSources('# escape=`\nFROM scratch\nCOPY c.txt `\n  d.txt /dst/\n').sources).toEqual(['c.txt', 'd.txt']);
    expect(dockerfileSources('COPY e.txt /dst/ \\').sources).toEqual(['e.txt']);
  });

  it('counts RUN --mount=type=bind from the context, and hashes everything when a source has a variable', () => {
    expect(dockerfileSources('RUN --mount=type=bind,source=setup.py,target=/s python /s\nRUN --mount=type=cache,target=/c x').sources)
      .toEqual(['setup.py']);
    expect(dockerfileSources('RUN --mount=type=bind,from=base,source=/x,target=/x true').sources).toEqual([]);
    expect(dockerfileSources('ARG DIR=src\nCOPY ${DIR} /app').wholeContext).toBe(true);
  });
});

describe('ignoreMatcher (.dockerignore)', () => {
  const ignored = ignoreMatcher([
    '# comment',
    'data',
    '*.tmp',
    '**/__pycache__',
    '/build/',
    'docs/**/*.md',
    '!docs/keep/**/*.md',
    'logs/*',
    '!logs/keep.log',
  ].join('\n'));

  it.each([
    ['data/raw.csv', true], ['data', true], ['src/data', false],
    ['x.tmp', true], ['src/x.tmp', false],
    ['__pycache__/a.pyc', true], ['src/pkg/__pycache__/a.pyc', true],
    ['build/out.bin', true], ['src/build/out.bin', false],
    ['docs/a.md', true], ['docs/x/y/a.md', true], ['docs/keep/a.md', false], ['docs/a.txt', false],
    ['logs/a.log', true], ['logs/keep.log', false],
    ['src/train.py', false],
  ])('%s ignored: %s', (p, expected) => {
    expect(ignored(p)).toBe(expected);
  });

  it('ignores nothing without an ignore file', () => {
    expect(ignoreMatcher(null)('anything')).toBe(false);
  });
});

describe('contextHash', () => {
  const dockerfile = 'FROM scratch\nCOPY app/ /app/\nCOPY requirements.txt /\n';
  const files = [file('app/train.py'), file('app/util.py'), file('requirements.txt'), file('README.md'), file('app/x.tmp')];
  const base = contextHash({ dockerfile, ignoreFile: '*.tmp\napp/*.tmp\n', files });

  it('covers the files COPY reaches, minus ignored ones', () => {
    expect(base.used).toEqual(['app/train.py', 'app/util.py', 'requirements.txt']);
    expect(base.hash).toMatch(/^[0-9a-f]{20}$/);
  });

  it('stays the same when nothing the image uses changes', () => {
    const same = (f: ContextFile[], ignoreFile = '*.tmp\napp/*.tmp\n') => contextHash({ dockerfile, ignoreFile, files: f }).hash;
    expect(same([...files].reverse())).toBe(base.hash);
    expect(same(files.map((f) => (f.path === 'README.md' ? file('README.md', 'edited') : f)))).toBe(base.hash);
    expect(same(files.map((f) => (f.path === 'app/x.tmp' ? file('app/x.tmp', 'edited') : f)))).toBe(base.hash);
    expect(same([...files, file('notes/new.txt')])).toBe(base.hash);
  });

  it('changes with a copied file, its mode, a new copied file, the Dockerfile or the ignore file', () => {
    const differs = (input: Partial<Parameters<typeof contextHash>[0]>) =>
      expect(contextHash({ dockerfile, ignoreFile: '*.tmp\napp/*.tmp\n', files, ...input }).hash).not.toBe(base.hash);
    differs({ files: files.map((f) => (f.path === 'app/train.py' ? file('app/train.py', 'edited') : f)) });
    differs({ files: files.map((f) => (f.path === 'app/util.py' ? file('app/util.py', undefined, '100755') : f)) });
    differs({ files: [...files, file('app/new.py')] });
    differs({ files: files.map((f) => (f.path === 'requirements.txt' ? file('reqs/requirements.txt') : f)) });
    differs({ dockerfile: dockerfile + 'ENV A=1\n' });
    differs({ ignoreFile: '*.tmp\n' });
  });

  it('with COPY . takes the whole context except what is ignored', () => {
    const all = contextHash({ dockerfile: 'FROM scratch\nCOPY . /src\n', ignoreFile: 'README.md\n', files });
    expect(all.used).toEqual(['app/train.py', 'app/util.py', 'app/x.tmp', 'requirements.txt']);
  });

  it('matches wildcard sources as Docker does: "*" stays inside a folder, a matching folder brings its files', () => {
    const wild = contextHash({ dockerfile: 'FROM scratch\nCOPY *.txt ap? /x/\n', ignoreFile: null, files });
    expect(wild.used).toEqual(['app/train.py', 'app/util.py', 'app/x.tmp', 'requirements.txt']);
  });
});

describe('hashImageAt (files of a commit in a git repository)', () => {
  let repo: string;
  const git = (...args: string[]) => execa('git', args, {
    cwd: repo, env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).then((r) => r.stdout.trim());
  const write = async (p: string, text: string) => {
    await mkdir(path.dirname(path.join(repo, p)), { recursive: true });
    await writeFile(path.join(repo, p), text);
  };
  const commit = async () => {
    await git('add', '-A');
    await git('commit', '-qm', 'c', '--allow-empty');
    return git('rev-parse', 'HEAD');
  };
  const image = ImageConfig.parse({ repository: 'localhost:5000/p', context: 'docker', dockerfile: 'docker/Dockerfile' });

  beforeAll(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-hash-'));
    await git('init', '-q');
    await write('ml/cd4ml.yaml', 'project: p\n');
    await write('ml/docker/Dockerfile', 'FROM scratch\nCOPY env/ /env/\n');
    await write('ml/docker/.dockerignore', 'env/*.log\n');
    await write('ml/docker/env/requirements.txt', 'dvc\n');
    await write('ml/train.py', 'print(1)\n');
  });
  afterAll(async () => rm(repo, { recursive: true, force: true }));

  it('resolves paths from the folder of cd4ml.yaml and refuses ones outside the repository', () => {
    expect(imagePaths('ml', image)).toEqual({ context: 'ml/docker', dockerfile: 'ml/docker/Dockerfile' });
    expect(imagePaths('.', { context: '.', dockerfile: 'Dockerfile' })).toEqual({ context: '', dockerfile: 'Dockerfile' });
    expect(() => imagePaths('ml', { context: '../..', dockerfile: 'Dockerfile' })).toThrow(/image.context: "..\/.." is outside the repository/);
  });

  it('changes only when a file the image uses changes, including its executable bit', async () => {
    const first = await hashImageAt(repo, await commit(), 'ml', image);
    expect(first.used).toEqual(['env/requirements.txt']);

    await write('ml/train.py', 'print(2)\n');
    await write('ml/docker/env/build.log', 'noise\n');
    expect((await hashImageAt(repo, await commit(), 'ml', image)).hash).toBe(first.hash);

    await write('ml/docker/env/requirements.txt', 'dvc==3.0\n');
    const second = await hashImageAt(repo, await commit(), 'ml', image);
    expect(second.hash).not.toBe(first.hash);

    await chmod(path.join(repo, 'ml/docker/env/requirements.txt'), 0o755);
    expect((await hashImageAt(repo, await commit(), 'ml', image)).hash).not.toBe(second.hash);
  });

  it('says which path is missing', async () => {
    const head = await git('rev-parse', 'HEAD');
    await expect(hashImageAt(repo, head, 'ml', { ...image, dockerfile: 'nope/Dockerfile' }))
      .rejects.toThrow(/image.dockerfile: ml\/nope\/Dockerfile not found at/);
    await expect(hashImageAt(repo, head, 'ml', { ...image, context: 'nope', dockerfile: 'docker/Dockerfile' }))
      .rejects.toThrow(/image.context: ml\/nope is not a folder at/);
  });
});
