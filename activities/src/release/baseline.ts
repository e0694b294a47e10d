import { LatestPointer, ReleaseManifest, latestKey, releaseKey, type Metrics } from '@cd4ml/contracts';
import type { ReleaseStore } from '@cd4ml/stores';

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
