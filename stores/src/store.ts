/**
 * Where releases and staged candidates live. Keys are "/"-separated paths
 * relative to the store root (<project>/<tag>/release.json), the same in every
 * store. Writes are atomic: a reader sees a whole object or none.
 */
export interface ReleaseStore {
  /** The folder or s3://bucket/prefix the store was opened with. */
  readonly url: string;
  putFile(key: string, srcPath: string): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  /** The object as text, or null when there is none. */
  getText(key: string): Promise<string | null>;
  /** Size and a version that changes when the object is rewritten, or null when there is none. */
  stat(key: string): Promise<StoredObject | null>;
  /** A local path holding the object's bytes (the file itself for a directory store, a cached download for S3). */
  localFile(key: string): Promise<string>;
  copy(fromKey: string, toKey: string): Promise<void>;
  /** Removes every object under `prefix`/ (a "folder"); nothing there is fine. */
  removePrefix(prefix: string): Promise<void>;
  /**
   * Writes only if the object is still at `ifVersion` (its stat().version), or, with null,
   * only if there is none; false when someone else wrote first. One atomic write either way.
   */
  putTextIf(key: string, text: string, ifVersion: string | null): Promise<boolean>;
  /** Names directly under `prefix`/ (sub-folders and objects), sorted; none is []. */
  list(prefix: string): Promise<string[]>;
  /** The project folders at the store's root (plain names only, no files, no dot-folders), sorted; none is []. */
  listProjects(): Promise<string[]>;
  /** Where a key lives, for messages: a path or an s3:// url. */
  locate(key: string): string;
}

export interface StoredObject {
  bytes: number;
  /** mtime for a file, ETag for S3: only compared for equality. */
  version: string;
}

/** A root folder's name that can be a project: a plain name (checkKey's rules, one part) not starting with a dot. */
export function isProjectName(name: string): boolean {
  return name !== '' && !name.startsWith('.') && !/[\\/]/.test(name);
}

/** Rejects keys that could leave the store or mean different things in a folder and in S3. */
export function checkKey(key: string): string {
  const parts = key.split('/');
  if (key === '' || key.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`store key "${key}" is not a plain relative path like <project>/<tag>/release.json`);
  }
  return key;
}
