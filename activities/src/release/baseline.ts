import { LatestPointer, ReleaseManifest, latestKey, releaseKey, type Metrics } from '@cd4ml/contracts';
import type { ReleaseStore } from '@cd4ml/stores';

/** The last accepted release of a project, or null for a first model. */
export async function findBaseline(store: ReleaseStore, project: string): Promise<{ tag: string; metrics: Metrics } | null> {
  const latest = await store.getText(latestKey(project));
  if (latest === null) return null;
  const { tag } = LatestPointer.parse(JSON.parse(latest));
  return { tag, metrics: (await readManifest(store, project, tag))?.metrics ?? {} };
}

export async function readManifest(store: ReleaseStore, project: string, tag: string): Promise<ReleaseManifest | null> {
  const text = await store.getText(`${releaseKey(project, tag)}/release.json`);
  return text === null ? null : ReleaseManifest.parse(JSON.parse(text));
}
