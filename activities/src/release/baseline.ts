import { LatestPointer, ReleaseManifest, latestKey, releaseKey, type Metrics } from '@cd4ml/contracts';
import { sha256File, type ReleaseStore } from '@cd4ml/stores';

/** The tag of the last accepted release of a project, or null before the first. */
export async function latestTag(store: ReleaseStore, project: string): Promise<string | null> {
  const latest = await store.getText(latestKey(project));
  return latest === null ? null : LatestPointer.parse(JSON.parse(latest)).tag;
}

/** The last accepted release of a project, or null for a first model. */
export async function findBaseline(store: ReleaseStore, project: string): Promise<{ tag: string; metrics: Metrics } | null> {
  const tag = await latestTag(store, project);
  if (tag === null) return null;
  return { tag, metrics: (await readManifest(store, project, tag))?.metrics ?? {} };
}

export async function readManifest(store: ReleaseStore, project: string, tag: string): Promise<ReleaseManifest | null> {
  const text = await store.getText(`${releaseKey(project, tag)}/release.json`);
  return text === null ? null : ReleaseManifest.parse(JSON.parse(text));
}

/** The baseline with its model file, checked against its manifest: the gate scores it on the candidate's holdout. */
export async function findBaselineModel(
  store: ReleaseStore, project: string,
): Promise<{ tag: string; metrics: Metrics; modelPath: string | null; problem?: string } | null> {
  const tag = await latestTag(store, project);
  if (tag === null) return null;
  const manifest = await readManifest(store, project, tag);
  if (!manifest) return { tag, metrics: {}, modelPath: null, problem: `${releaseKey(project, tag)}/release.json is missing` };
  let modelPath: string;
  try {
    modelPath = await store.localFile(`${releaseKey(project, tag)}/${manifest.model.file}`);
  } catch (err) {
    return { tag, metrics: manifest.metrics, modelPath: null, problem: `its ${manifest.model.file} cannot be read from the store: ${(err as Error).message}` };
  }
  const sha256 = await sha256File(modelPath);
  if (sha256 !== manifest.model.sha256) {
    return { tag, metrics: manifest.metrics, modelPath: null, problem: `its ${manifest.model.file} has sha256 ${sha256.slice(0, 12)}..., not the manifest's ${manifest.model.sha256.slice(0, 12)}...` };
  }
  return { tag, metrics: manifest.metrics, modelPath };
}
