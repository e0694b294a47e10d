import { copyFile, mkdir, readFile, rename, rm, writeFile, access } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

/**
 * Where releases and staged candidates live. Keys are "/"-separated paths
 * relative to the store root (<project>/<tag>/release.json). Writes are
 * atomic: a reader sees a whole file or none.
 */
export interface ReleaseStore {
  readonly url: string;
  putFile(key: string, srcPath: string): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  getText(key: string): Promise<string | null>;
  /** A local path holding the object's bytes (the file itself for a directory store). */
  localFile(key: string): Promise<string>;
  copy(fromKey: string, toKey: string): Promise<void>;
  removePrefix(prefix: string): Promise<void>;
}

export class DirectoryStore implements ReleaseStore {
  constructor(readonly root: string) {}

  get url(): string {
    return this.root;
  }

  private resolve(key: string): string {
    const full = path.resolve(this.root, key);
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
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
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

/** A store from its url: a folder path (or file://). s3:// arrives with the cloud providers. */
export function openStore(url: string): ReleaseStore {
  if (url.startsWith('s3://')) {
    throw new Error(`release store ${url}: S3 stores are not supported yet; use a folder`);
  }
  const root = url.startsWith('file://') ? new URL(url).pathname : url;
  if (!path.isAbsolute(root)) throw new Error(`release store must be an absolute folder path, got "${url}"`);
  return new DirectoryStore(root);
}
