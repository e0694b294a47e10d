import path from 'node:path';
import { DirectoryStore } from './directory-store.ts';
import { S3Store, type S3StoreOptions } from './s3-store.ts';
import type { ReleaseStore } from './store.ts';

export const isS3Url = (url: string): boolean => /^s3:\/\//i.test(url);

/**
 * A store from its url: s3://bucket/prefix, or an absolute folder path (or
 * file:// url). Folders must be absolute: the url travels between workers
 * that run in different directories.
 */
export function openStore(url: string, opts: S3StoreOptions = {}): ReleaseStore {
  if (isS3Url(url)) return new S3Store(url, opts);
  const root = url.startsWith('file://') ? new URL(url).pathname : url;
  if (!path.isAbsolute(root)) throw new Error(`release store must be an absolute folder path or s3://bucket/prefix, got "${url}"`);
  return new DirectoryStore(root);
}
