import { access, copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { checkKey, isProjectName, type ReleaseStore, type StoredObject } from './store.ts';

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

  /** Compare and rename under a lock file (open wx): two writers on one machine or one NFS share cannot both win. */
  async putTextIf(key: string, text: string, ifVersion: string | null): Promise<boolean> {
    const lock = `${this.resolve(key)}.lock`;
    await mkdir(path.dirname(lock), { recursive: true });
    const handle = await takeLock(lock);
    try {
      const now = await this.stat(key);
      if ((now?.version ?? null) !== ifVersion) return false;
      await this.putText(key, text);
      return true;
    } finally {
      await handle.close();
      await rm(lock, { force: true });
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.resolve(prefix))).filter((n) => !n.endsWith('.tmp') && !n.endsWith('.lock')).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async listProjects(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && isProjectName(e.name)).map((e) => e.name).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
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
      return { bytes: s.size, version: `${s.mtimeMs}:${s.ino}` }; // a rename makes a new inode: two writes in one ms still differ
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

/** A lock older than this was left by a crashed writer and is broken. */
const STALE_LOCK_MS = 10_000;

async function takeLock(file: string): Promise<import('node:fs/promises').FileHandle> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(file, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 500) throw err;
      const s = await stat(file).catch(() => null);
      if (s && Date.now() - s.mtimeMs > STALE_LOCK_MS) await rm(file, { force: true });
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
