import path from 'node:path';
import { LatestPointer, ReleaseManifest, latestKey, releaseKey } from '@cd4ml/contracts';
import { checkKey, sha256File, type ReleaseStore } from '@cd4ml/stores';

// Reading a release from the store (a folder or S3) and checking its model
// file against the manifest. Nothing here runs the model.

/** A release that must not serve; `message` is the reason recorded in refused(). */
export class ReleaseRefusedError extends Error {
  constructor(readonly version: string, readonly reason: string) {
    super(`release ${version} refused: ${reason}`);
    this.name = 'ReleaseRefusedError';
  }
}

/**
 * The release cannot be read now: not (yet) in the store, or the store did
 * not answer. Worth another look later, not a refusal.
 */
export class ReleaseMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReleaseMissingError';
  }
}

export interface VerifiedRelease {
  tag: string;
  /** Where the release lives in the store (a folder or an s3:// url), for messages. */
  location: string;
  manifest: ReleaseManifest;
  /** A local file with the model's bytes, already checked against the manifest's sha256. */
  modelPath: string;
}

const zodText = (issues: { path: PropertyKey[]; message: string }[]): string =>
  issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');

/** A store read that failed for a reason other than a bad release: look again later. */
async function fromStore<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw new ReleaseMissingError(`could not read ${what}: ${(err as Error).message}`);
  }
}

/** The tag latest.json points at, or null when there is no latest.json yet. Throws on an unreadable pointer. */
export async function readLatestTag(store: ReleaseStore, project: string): Promise<string | null> {
  const text = await store.getText(latestKey(project));
  if (text === null) return null;
  const parsed = LatestPointer.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${latestKey(project)} is invalid: ${zodText(parsed.error.issues)}`);
  return parsed.data.tag;
}

/** Changes when the release's files change: lets the registry retry a refused tag once it was rewritten. */
export async function releaseFingerprint(store: ReleaseStore, project: string, tag: string): Promise<string | null> {
  const parts: string[] = [];
  for (const name of ['release.json', 'model.onnx']) {
    const s = await store.stat(`${releaseKey(project, tag)}/${name}`).catch(() => null);
    parts.push(s ? `${name}:${s.bytes}:${s.version}` : `${name}:-`);
  }
  return parts.join('|');
}

/**
 * Reads <store>/<project>/<tag>/release.json and checks the model file's size
 * and sha256 against it (an S3 model is downloaded to the store's cache first,
 * and the downloaded bytes are hashed). Throws ReleaseRefusedError (bad
 * release) or ReleaseMissingError (no release.json there, or the store did
 * not answer).
 */
export async function readRelease(store: ReleaseStore, project: string, tag: string): Promise<VerifiedRelease> {
  const dir = releaseKey(project, tag);
  const location = store.locate(dir);
  const refuse = (reason: string): ReleaseRefusedError => new ReleaseRefusedError(tag, reason);
  const text = await fromStore(`${location}/release.json`, () => store.getText(`${dir}/release.json`));
  if (text === null) throw new ReleaseMissingError(`no release.json for ${project} ${tag} in ${location}`);
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
  const modelKey = path.posix.normalize(`${dir}/${manifest.model.file}`);
  if (!modelKey.startsWith(`${dir}/`) || path.posix.isAbsolute(manifest.model.file)) {
    throw refuse(`model file ${manifest.model.file} is outside the release folder`);
  }
  try {
    checkKey(modelKey);
  } catch (err) {
    throw refuse(`model file ${manifest.model.file}: ${(err as Error).message}`);
  }
  const stored = await fromStore(`${location}/${manifest.model.file}`, () => store.stat(modelKey));
  if (stored === null) throw refuse(`model file ${manifest.model.file} unreadable: ENOENT`);
  // Checked before downloading: a wrong size needs no transfer to be refused.
  if (stored.bytes !== manifest.model.bytes) {
    throw refuse(`size mismatch: ${manifest.model.file} has ${stored.bytes} bytes, the manifest says ${manifest.model.bytes}`);
  }
  const modelPath = await fromStore(`${location}/${manifest.model.file}`, () => store.localFile(modelKey));
  const sha = await sha256File(modelPath);
  if (sha !== manifest.model.sha256) {
    throw refuse(`sha256 mismatch: ${manifest.model.file} is ${sha}, the manifest says ${manifest.model.sha256}`);
  }
  return { tag, location, manifest, modelPath };
}
