import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryStore } from '@cd4ml/stores';

// listProjects: the project folders at a directory store's root, while list('')
// keeps refusing the empty key (checkKey).

describe('DirectoryStore.listProjects', () => {
  const dirs: string[] = [];
  const tmp = async (): Promise<string> => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'cd4ml-store-projects-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('lists the root folders, sorted, without files and dot-folders', async () => {
    const root = await tmp();
    const store = new DirectoryStore(root);
    await store.putText('penguins/v1.0/release.json', '{}');
    await store.putText('diabetes/latest.json', '{"tag":"v1"}');
    await mkdir(path.join(root, '.cache'));
    await writeFile(path.join(root, 'notes.txt'), 'not a project');
    expect(await store.listProjects()).toEqual(['diabetes', 'penguins']);
  });

  it('is empty for an empty or missing store, and list("") is still refused', async () => {
    const root = await tmp();
    expect(await new DirectoryStore(root).listProjects()).toEqual([]);
    expect(await new DirectoryStore(path.join(root, 'missing')).listProjects()).toEqual([]);
    await expect(new DirectoryStore(root).list('')).rejects.toThrow(/not a plain relative path/);
  });
});
