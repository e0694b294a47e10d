import { access, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { checkKey, type ReleaseStore, type StoredObject } from './store.ts';

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** The embedded default: a folder, with <project>/<tag>/... as sub-folders. */
export class DirectoryStore implements ReleaseStore {
  constructor(readonly root: string) {}

  get url(): string {
    return this.root;
  }

  locate(key: string): string {
    return this.resolve(key);
  }

  private resolve(key: string): string {
    const full = path.resolve(this.root, checkKey(key));
    if (!full.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`store key escapes the store: ${key}`);
    return full;
  }

  private async atomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const dest = this.resolve(key);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${randomUUID()}.tmp`;
    try {
      await write(tmp);
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  putFile(key: string, srcPath: string): Promise<void> {
    return this.atomically(key, (tmp) => copyFile(srcPath, tmp));
  }

  putText(key: string, text: string): Promise<void> {
    return this.atomically(key, (tmp) => writeFile(tmp, text));
  }

  async getText(key: string): Promise<string | null> {
    try {
      return await readFile(this.resolve(key), 'utf8');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const s = await stat(this.resolve(key));
      return { bytes: s.size, version: String(s.mtimeMs) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async localFile(key: string): Promise<string> {
    const file = this.resolve(key);
    await access(file);
    return file;
  }

  copy(fromKey: string, toKey: string): Promise<void> {
    return this.putFile(toKey, this.resolve(fromKey));
  }

  async removePrefix(prefix: string): Promise<void> {
    await rm(this.resolve(prefix), { recursive: true, force: true });
  }
}
