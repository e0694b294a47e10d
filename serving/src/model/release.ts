import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { LatestPointer, ReleaseManifest, latestKey, releaseKey } from '@cd4ml/contracts';

// Reading a release from the store directory and checking its model file
// against the manifest. Nothing here runs the model.

/** A release that must not serve; `message` is the reason recorded in refused(). */
export class ReleaseRefusedError extends Error {
  constructor(readonly version: string, readonly reason: string) {
    super(`release ${version} refused: ${reason}`);
    this.name = 'ReleaseRefusedError';
  }
}

/** The release is not (yet) in the store: worth another look later, not a refusal. */
export class ReleaseMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseMissingError';
  }
}

export interface VerifiedRelease {
  tag: string;
  dir: string;
  manifest: ReleaseManifest;
  modelPath: string;
}

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;
const zodText = (issues: { path: PropertyKey[]; message: string }[]): string =>
  issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');

/** The tag latest.json points at, or null when there is no latest.json yet. Throws on an unreadable pointer. */
export async function readLatestTag(store: string, project: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(join(store, latestKey(project)), 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
  const parsed = LatestPointer.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${latestKey(project)} is invalid: ${zodText(parsed.error.issues)}`);
  return parsed.data.tag;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Changes when the release's files change: lets the registry retry a refused tag once it was rewritten. */
export async function releaseFingerprint(store: string, project: string, tag: string): Promise<string | null> {
  const dir = join(store, releaseKey(project, tag));
  const parts: string[] = [];
  for (const name of ['release.json', 'model.onnx']) {
    try {
      const s = await stat(join(dir, name));
      parts.push(`${name}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push(`${name}:-`);
    }
  }
  return parts.join('|');
}

/**
 * Reads <store>/<project>/<tag>/release.json and checks the model file's size
 * and sha256 against it. Throws ReleaseRefusedError (bad release) or
 * ReleaseMissingError (no release.json there).
 */
export async function readRelease(store: string, project: string, tag: string): Promise<VerifiedRelease> {
  const dir = join(store, releaseKey(project, tag));
  const refuse = (reason: string): ReleaseRefusedError => new ReleaseRefusedError(tag, reason);
  let text: string;
  try {
    text = await readFile(join(dir, 'release.json'), 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') throw new ReleaseMissingError(`no release.json for ${project} ${tag} in ${dir}`);
    throw refuse(`release.json unreadable: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw refuse(`release.json is not JSON: ${(err as Error).message}`);
  }
  const parsed = ReleaseManifest.safeParse(raw);
  if (!parsed.success) throw refuse(`release.json invalid: ${zodText(parsed.error.issues)}`);
  const manifest = parsed.data;
  if (manifest.project !== project) throw refuse(`release.json is for project ${manifest.project}, not ${project}`);
  if (manifest.tag !== tag) throw refuse(`release.json has tag ${manifest.tag}, but is stored under ${tag}`);
  const modelPath = resolve(dir, manifest.model.file);
  const rel = relative(resolve(dir), modelPath);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw refuse(`model file ${manifest.model.file} is outside the release folder`);
  let size: number;
  try {
    size = (await stat(modelPath)).size;
  } catch (err) {
    throw refuse(`model file ${manifest.model.file} unreadable: ${errCode(err) ?? (err as Error).message}`);
  }
  if (size !== manifest.model.bytes) {
    throw refuse(`size mismatch: ${manifest.model.file} has ${size} bytes, the manifest says ${manifest.model.bytes}`);
  }
  const sha = await sha256File(modelPath);
  if (sha !== manifest.model.sha256) {
    throw refuse(`sha256 mismatch: ${manifest.model.file} is ${sha}, the manifest says ${manifest.model.sha256}`);
  }
  return { tag, dir, manifest, modelPath };
}
